/**
 * The gateway as `node dist/main.js` runs it (same config from the environment, same `createGateway`),
 * with one difference that the environment cannot express: `BENCH_RUN_WORKER=0` turns the worker off
 * (`GatewayTuning.runWorker`), so the ingest scenarios measure the webhook path alone, as a
 * webhook-only instance would run. Stops gracefully on SIGTERM like main.js.
 */
import { loadConfig } from '../dist/config.js'
import { createGateway } from '../dist/gateway.js'

const gateway = await createGateway({
  config: loadConfig(),
  tuning: { runWorker: process.env.BENCH_RUN_WORKER !== '0' },
})
const { host, port } = await gateway.listen()
gateway.logger.info({ host, port, database: gateway.store.dialect, runWorker: gateway.runner !== undefined }, 'bench:gateway:started')

let stopping = false
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    gateway.stop().then(
      () => process.exit(0),
      (error) => {
        gateway.logger.error({ err: error }, 'bench:gateway:stop:failed')
        process.exit(1)
      },
    )
  })
}
