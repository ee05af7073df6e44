/** The ordered list of migrations; add new ones at the end, never edit an applied one. */
import type { Migration, MigrationProvider } from 'kysely'
import * as init from './0001-init.js'
import * as jobLanes from './0002-job-lanes.js'
import * as richMessages from './0003-rich-messages.js'
import * as templatesBroadcasts from './0004-templates-broadcasts.js'
import * as botHealthHistory from './0005-bot-health-history.js'
import * as eventsHandover from './0006-events-handover.js'
import * as providerEvidence from './0007-provider-evidence.js'
import * as signatureFailures from './0008-signature-failures.js'
import * as retention from './0009-retention.js'
import * as numberScope from './0010-number-scope.js'
import * as jobTeams from './0011-job-teams.js'
import * as jobsVacuum from './0012-jobs-vacuum.js'
import * as messagesFillfactor from './0013-messages-fillfactor.js'

const migrations: Record<string, Migration> = {
  '0001-init': init,
  '0002-job-lanes': jobLanes,
  '0003-rich-messages': richMessages,
  '0004-templates-broadcasts': templatesBroadcasts,
  '0005-bot-health-history': botHealthHistory,
  '0006-events-handover': eventsHandover,
  '0007-provider-evidence': providerEvidence,
  '0008-signature-failures': signatureFailures,
  '0009-retention': retention,
  '0010-number-scope': numberScope,
  '0011-job-teams': jobTeams,
  '0012-jobs-vacuum': jobsVacuum,
  '0013-messages-fillfactor': messagesFillfactor,
}

/** Static provider, so migrations work the same from `src/` under tsx and from `dist/`. */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
}
