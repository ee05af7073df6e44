/**
 * Entry point of `npm start`: read the configuration, build the gateway, listen, stop gracefully on
 * SIGTERM/SIGINT. A bad configuration stops start-up with one line naming the variable.
 */
import { ConfigError, loadConfig, type Config, type TimingOverrides } from './config.js'
import { createGateway, type GatewayTuning } from './gateway.js'

/** The timings the environment set, as the gateway's tuning; the rest keep the gateway's defaults. */
function tuningFrom(timings: TimingOverrides = {}): Partial<GatewayTuning> {
  const { retryBaseMs, retryMaxMs, ...rest } = timings
  const tuning: Partial<GatewayTuning> = { ...rest }
  if (retryBaseMs !== undefined || retryMaxMs !== undefined) {
    tuning.retryBackoff = {
      ...(retryBaseMs !== undefined ? { baseMs: retryBaseMs } : {}),
      ...(retryMaxMs !== undefined ? { maxMs: retryMaxMs } : {}),
    }
  }
  return tuning
}

async function main(): Promise<void> {
  let config: Config
  try {
    config = loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`switchboard: configuration error: ${error.message}\n`)
      process.exit(78) // EX_CONFIG
    }
    throw error
  }

  const gateway = await createGateway({ config, tuning: tuningFrom(config.timings) })
  const { host, port } = await gateway.listen()
  if (gateway.generatedAdminToken) {
    // Printed once, on the start that created it; only its hash is stored.
    process.stdout.write(
      `\nSwitchboard generated an admin API token for team "default". It is shown only now; keep it safe:\n\n    ${gateway.generatedAdminToken}\n\n`,
    )
  }
  gateway.logger.info({ host, port, database: gateway.store.dialect }, 'gateway:started')
  // The one line a person starting it looks for: where to open the console.
  const base = config.publicUrl ?? `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host}:${port}`
  process.stdout.write(`\nSwitchboard is running on ${gateway.store.dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL'}. Console: ${base}/console  (API: ${base}/api)\n\n`)

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    gateway.logger.info({ signal }, 'gateway:stopping')
    const started = performance.now()
    gateway
      .stop()
      .then(() => {
        // The last line of a clean stop: work finished or released, database closed.
        gateway.logger.info({ durationMs: Math.round(performance.now() - started) }, 'gateway:stopped')
        process.exit(0)
      })
      .catch((error: unknown) => {
        gateway.logger.error({ err: error }, 'gateway:stop:failed')
        process.exit(1)
      })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

main().catch((error: unknown) => {
  process.stderr.write(`switchboard: failed to start: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
