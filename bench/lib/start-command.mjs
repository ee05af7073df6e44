/**
 * The node options `npm start` runs the gateway with (package.json's `start` script, after its build),
 * so the benchmark's gateways run as `npm start` would run them.
 */
import { readFileSync } from 'node:fs'

/** The options between `node` and `dist/main.js` in the start script, e.g. `['--max-old-space-size=256']`. */
export function startNodeOptions(packageJsonPath) {
  const script = JSON.parse(readFileSync(packageJsonPath, 'utf8')).scripts.start
  const command = script.split('&&').at(-1).trim().split(/\s+/)
  if (command[0] !== 'node' || command.at(-1) !== 'dist/main.js') {
    throw new Error(`bench: cannot read the node options from the start script "${script}"`)
  }
  return command.slice(1, -1)
}
