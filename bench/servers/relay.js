// Raw relay floor: forwards every frame to the other sockets of the same room (URL path).
// No CRDT, no storage, no handshake. It is the physical limit for fan-out cost here.
import http from 'node:http'
import { WebSocketServer } from 'ws'

const rooms = new Map()
const server = http.createServer((_req, res) => { res.writeHead(200); res.end('relay') })
const wss = new WebSocketServer({ server, perMessageDeflate: false })
wss.on('connection', (ws, req) => {
  const room = (req.url || '/').split('?')[0]
  let set = rooms.get(room)
  if (!set) rooms.set(room, (set = new Set()))
  set.add(ws)
  ws.on('message', (data, isBinary) => {
    for (const other of set) {
      if (other !== ws && other.readyState === 1) other.send(data, { binary: isBinary })
    }
  })
  ws.on('close', () => {
    set.delete(ws)
    if (set.size === 0) rooms.delete(room)
  })
  ws.on('error', () => {})
})
server.listen(0, '127.0.0.1', () => {
  console.log(`relay listening on http://127.0.0.1:${server.address().port}`)
})
process.on('SIGTERM', () => process.exit(0))
