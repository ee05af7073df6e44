/**
 * The web console at `/console`: hand-written static files (HTML, CSS, plain ES modules) served by the
 * gateway itself. The page holds no data; everything it shows it reads from the admin API over HTTP
 * with the token the person signs in with (STYLE B.2: the console imports no server code).
 *
 * The files are read once at start-up into memory, gzipped once, and served with an ETag, so a request
 * costs a map lookup. Only files found at start-up are served: a request path is never joined onto the
 * file system, so `..` cannot reach outside the folder.
 */
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'

/** Where the console is mounted. */
export const CONSOLE_PATH = '/console'

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
}

/**
 * The page may talk to its own origin, and to the sandbox's stand-in for Meta, which listens on
 * loopback on a port of its own (see src/sandbox/). Nothing else: no inline script, no third party.
 * Pictures and players load the gateway's signed `/media/…` URLs (same origin), or blob: URLs of bytes
 * the page read with its token (what a bot sent by media id).
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob:",
  "connect-src 'self' http://127.0.0.1:* http://localhost:*",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

/** One file, ready to send. */
interface Asset {
  body: Buffer
  gzipped: Buffer | null
  etag: string
  contentType: string
}

export interface ConsoleModuleOptions {
  /** The folder of the console's files; default: found next to this module (see `findAssetsDir`). */
  assetsDir?: string
}

/**
 * The assets folder. `tsc` copies no non-TypeScript files, so when this module runs from `dist/console/`
 * the files are read from `src/console/assets/` of the same checkout; under tsx they sit next to it.
 * A missing folder stops start-up with a message, rather than serving a blank console later.
 */
export function findAssetsDir(moduleUrl: string = import.meta.url): string {
  const here = fileURLToPath(new URL('.', moduleUrl))
  const candidates = [join(here, 'assets'), join(here, '..', '..', 'src', 'console', 'assets')]
  for (const candidate of candidates) if (existsSync(join(candidate, 'index.html'))) return candidate
  throw new Error(`console: its files were not found (looked in ${candidates.join(' and ')}); run the gateway from a full checkout`)
}

/** Reads every file under `dir` into memory, keyed by its path relative to `dir` with `/` separators. */
export function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>()
  const walk = (folder: string): void => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name)
      if (statSync(path).isDirectory()) {
        walk(path)
        continue
      }
      const extension = name.slice(name.lastIndexOf('.'))
      const contentType = CONTENT_TYPES[extension]
      // Only known types are served (the folder may hold a jsconfig.json for editors).
      if (contentType === undefined) continue
      const body = readFileSync(path)
      const compressible = contentType.startsWith('text/') || contentType === 'image/svg+xml'
      assets.set(relative(dir, path).split(sep).join('/'), {
        body,
        gzipped: compressible ? gzipSync(body, { level: 9 }) : null,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
        contentType,
      })
    }
  }
  walk(dir)
  if (!assets.has('index.html')) throw new Error(`console: ${dir} has no index.html`)
  return assets
}

function send(request: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  // The files are small and change with each release: revalidate every time, answer 304 when unchanged.
  reply
    .header('cache-control', 'no-cache')
    .header('etag', asset.etag)
    .header('vary', 'accept-encoding')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .type(asset.contentType)
  if (asset.contentType.startsWith('text/html')) {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY).header('x-frame-options', 'DENY')
  }
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send()
  const acceptsGzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))
  if (asset.gzipped !== null && acceptsGzip) return reply.header('content-encoding', 'gzip').send(asset.gzipped)
  return reply.send(asset.body)
}

/** The console as a Fastify plugin: `/console` and everything under it. */
export function createConsoleModule(options: ConsoleModuleOptions = {}): FastifyPluginAsync {
  const assets = loadAssets(options.assetsDir ?? findAssetsDir())
  const index = assets.get('index.html')!
  return async (server) => {
    server.get(CONSOLE_PATH, async (_request, reply) => reply.redirect(`${CONSOLE_PATH}/`, 308))
    server.get(`${CONSOLE_PATH}/*`, async (request, reply) => {
      const path = (request.params as { '*': string })['*']
      if (path.startsWith('assets/')) {
        const asset = assets.get(path.slice('assets/'.length))
        if (asset === undefined) return reply.callNotFound()
        return send(request, reply, asset)
      }
      // Every other path is a page of the single-page console (/console/channels, …): the same shell.
      return send(request, reply, index)
    })
  }
}
