// Hocuspocus with its SQLite extension (default debounce settings, as shipped).
import { Server } from '@hocuspocus/server'
import { SQLite } from '@hocuspocus/extension-sqlite'

const dir = process.env.HOCUSPOCUS_DIR
if (!dir) throw new Error('HOCUSPOCUS_DIR must be set')
const server = new Server({
  port: 0,
  address: '127.0.0.1',
  quiet: true,
  extensions: [new SQLite({ database: `${dir}/hocuspocus.sqlite` })]
})
await server.listen()
console.log(`hocuspocus listening on http://127.0.0.1:${server.address.port}`)
