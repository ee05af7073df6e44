/**
 * Entry point of `npm run sandbox`: starts the sandbox (see sandbox.ts) and prints one address, the
 * console signed in through the URL fragment. Options: `--port <n>` (default 8080, or a free port when
 * 8080 is taken), `--data <folder>` (default ./data/sandbox), `--verbose` (the gateway's info logs).
 */
import { parseArgs } from 'node:util'
import { startSandbox } from './sandbox.js'

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      data: { type: 'string', default: './data/sandbox' },
      verbose: { type: 'boolean', default: false },
    },
  })
  const port = values.port === undefined ? 8080 : Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, got "${values.port}"`)

  const sandbox = await startSandbox({
    dataDir: values.data,
    port,
    // An explicit --port must be honoured or fail; the default just needs some free port.
    fallbackToFreePort: values.port === undefined,
    logLevel: values.verbose ? 'info' : 'warn',
  })
  process.stdout.write(
    `\nSwitchboard sandbox is running (data in ${values.data}). Open the console, already signed in:\n\n    ${sandbox.consoleUrl}\n\nChat as a WhatsApp user on the "Sandbox chat" page: the demo bot answers "buttons", "list", "photo", "location" and "link"; move the sandbox clock 24 hours ahead there to see the service window close. Templates and Broadcasts work against the stand-in's templates. Stop with Ctrl+C.\n\n`,
  )

  let stopping = false
  const stop = () => {
    if (stopping) return
    stopping = true
    sandbox
      .stop()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        process.stderr.write(`switchboard sandbox: stop failed: ${String(error)}\n`)
        process.exit(1)
      })
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

main().catch((error: unknown) => {
  process.stderr.write(`switchboard sandbox: failed to start: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
