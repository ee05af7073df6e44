/**
 * Entry point of `npm run sandbox`: starts the sandbox (see sandbox.ts) and prints one address, the
 * console signed in through the URL fragment. Options: `--port <n>` (default 8080, or a free port when
 * 8080 is taken), `--data <folder>` (default ./data/sandbox), `--verbose` (the gateway's info logs),
 * and `--llm-url <OpenAI-compatible base URL> --llm-model <model> [--llm-key <key>]`: a language model
 * (e.g. a local Ollama at http://localhost:11434/v1) answers the sandbox channel as an llm bot.
 */
import { parseArgs } from 'node:util'
import { startSandbox, type SandboxLlm } from './sandbox.js'

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      data: { type: 'string', default: './data/sandbox' },
      verbose: { type: 'boolean', default: false },
      'llm-url': { type: 'string' },
      'llm-model': { type: 'string' },
      'llm-key': { type: 'string' },
    },
  })
  const llm = llmOf(values['llm-url'], values['llm-model'], values['llm-key'])
  const port = values.port === undefined ? 8080 : Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, got "${values.port}"`)

  const sandbox = await startSandbox({
    dataDir: values.data,
    port,
    // An explicit --port must be honoured or fail; the default just needs some free port.
    fallbackToFreePort: values.port === undefined,
    logLevel: values.verbose ? 'info' : 'warn',
    ...(llm ? { llm } : {}),
  })
  const bot = sandbox.answeringBot
  const answers =
    bot.type === 'llm' && llm
      ? `Answering: the llm bot "${bot.name}", model ${llm.model} at ${llm.baseUrl}${llm.apiKey ? ' (with the key given)' : ''}. Chat with it as a WhatsApp user on the "Sandbox chat" page; "/reset" starts the conversation over.`
      : `Answering: the ${bot.type} bot "${bot.name}". Chat as a WhatsApp user on the "Sandbox chat" page${bot.id === sandbox.demoBotId ? ': the demo bot answers "buttons", "list", "photo", "location" and "link"' : ''}.`
  process.stdout.write(
    `\nSwitchboard sandbox is running (data in ${values.data}). Open the console, already signed in:\n\n    ${sandbox.consoleUrl}\n\n${answers} Move the sandbox clock 24 hours ahead there to see the service window close. Templates and Broadcasts work against the stand-in's templates. Stop with Ctrl+C.\n\n`,
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

/** The model given by the `--llm-*` flags: both the URL and the model, or neither. */
function llmOf(url: string | undefined, model: string | undefined, key: string | undefined): SandboxLlm | undefined {
  if (url === undefined && model === undefined) {
    if (key !== undefined) throw new Error('--llm-key needs --llm-url and --llm-model too')
    return undefined
  }
  if (url === undefined || url === '') throw new Error('--llm-model needs --llm-url too: the API\'s base URL, e.g. --llm-url http://localhost:11434/v1')
  if (model === undefined || model === '') throw new Error('--llm-url needs --llm-model too: the model\'s name at that server, e.g. --llm-model llama3.2')
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new Error(`--llm-url must be an http:// or https:// URL such as http://localhost:11434/v1, got "${url}"`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`--llm-url must be an http:// or https:// URL, got "${url}"`)
  return { baseUrl: url.replace(/\/+$/, ''), model, ...(key ? { apiKey: key } : {}) }
}

main().catch((error: unknown) => {
  process.stderr.write(`switchboard sandbox: failed to start: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
