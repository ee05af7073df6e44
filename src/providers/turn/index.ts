/**
 * The public face of the Turn.io provider: only `providers/index.ts` imports from here.
 */
export { turnKind } from './turn-kind.js'
export { classifyTurnError } from './turn-errors.js'
