// The reference y-websocket server (@y/websocket-server), exactly as its bin/server.js
// wires it, except that it listens on 127.0.0.1:0 and prints the chosen port.
// LevelDB persistence is enabled by the YPERSISTENCE env var (read by utils.js at import).
import http from 'node:http'
import { createRequire } from 'node:module'
import { setupWSConnection, getPersistence } from '@y/websocket-server/utils'

// the ws version @y/websocket-server itself depends on (6.x), as its own server.js uses
const WebSocket = createRequire(import.meta.resolve('@y/websocket-server/utils'))('ws')

if (!process.env.YPERSISTENCE) throw new Error('YPERSISTENCE must be set')
if (getPersistence() === null) throw new Error('persistence not enabled')

const wss = new WebSocket.Server({ noServer: true })
const server = http.createServer((_req, res) => { res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end('okay') })
wss.on('connection', setupWSConnection)
server.on('upgrade', (request, socket, head) => {
  wss.handleUpgrade(request, socket, head, ws => { wss.emit('connection', ws, request) })
})
server.listen(0, '127.0.0.1', () => {
  console.log(`y-websocket-server listening on http://127.0.0.1:${server.address().port}`)
})
