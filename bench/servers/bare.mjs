/**
 * Baseline A, the transport ceiling: a bare `node:http` server that reads the whole body and answers 200.
 * `PORT` picks the port; it listens on 127.0.0.1 only.
 */
import { createServer } from 'node:http'

const server = createServer((req, res) => {
  req.on('data', () => {})
  req.on('end', () => {
    res.writeHead(200, { 'content-length': '0' })
    res.end()
  })
})
server.keepAliveTimeout = 60_000
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
