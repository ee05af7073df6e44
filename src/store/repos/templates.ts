/**
 * Templates: each provider's synced message templates, one row per (provider, name, language), with
 * what a send must give (`params`). A sync replaces a provider's list in one transaction; Meta's status
 * webhooks move one row's status between syncs. `checkTemplateSend` is the check every template send
 * passes before anything is queued (API, broadcasts and bot replies alike).
 */
import type { Kysely, Transaction } from 'kysely'
import { isoAt } from '../../core/clock.js'
import {
  GW_ERR_API_TEMPLATE_NOT_APPROVED,
  GW_ERR_API_TEMPLATE_NOT_FOUND,
  GW_ERR_API_TEMPLATE_PARAMS_MISMATCH,
  type GatewayError,
} from '../../core/errors.js'
import { newId } from '../../core/ids.js'
import type { TemplateOutbound } from '../../core/outbound.js'
import { normaliseLanguage, templateParamsProblem } from '../../core/template-params.js'
import type { Store } from '../db.js'
import type { Database, TemplatesTable } from '../schema.js'

/** Rows per insert statement: 12 values a row stays under SQLite's 32,766 bound parameters. */
const INSERT_CHUNK = 500
/** The only status WhatsApp sends. */
const APPROVED = 'APPROVED'
/** How many of a provider's languages or names an error sentence lists before "…". */
const NAMES_SHOWN = 8

/** A template as a provider lists it (the store's copy of `ProviderTemplate`, which it may not import). */
export interface TemplateInput {
  name: string
  language: string
  status: string
  category: string | null
  parameterFormat: 'POSITIONAL' | 'NAMED'
  params: string[]
  components: unknown
  providerTemplateId: string | null
}

/** A stored template. */
export interface StoredTemplate {
  id: string
  teamId: string
  providerId: string
  name: string
  /** `en_US` form. */
  language: string
  status: string
  category: string | null
  parameterFormat: string
  /** What a send must give, or null when not known yet (a template first seen in a status webhook). */
  params: string[] | null
  /** The provider's description as given, or null when not known yet. */
  components: unknown
  providerTemplateId: string | null
  syncedAt: string
  updatedAt: string
}

/** A template status change the provider announced (Meta `message_template_status_update`). */
export interface TemplateStatusUpdate {
  /** The provider's template id as text (Meta's is a 16-digit number: never parsed into a JS number). */
  providerTemplateId: string | null
  name: string
  language: string
  /** Upper case: `APPROVED`, `REJECTED`, `PAUSED`… */
  status: string
  /** The provider's reason (`INVALID_FORMAT`, `NONE`…), or null. */
  reason: string | null
  category?: string | null
}

/** What applying a status update did. */
export type TemplateStatusOutcome = 'updated' | 'inserted'

/** Template storage. */
export interface TemplatesRepo {
  /**
   * Makes the provider's stored list exactly `templates` in one transaction: upserts every one (keeping
   * the ids of those already known) and deletes those no longer listed. Returns how many are listed.
   */
  replaceForProvider(teamId: string, providerId: string, templates: readonly TemplateInput[], nowMs: number): Promise<number>
  /** A page of the provider's templates, by id (the team is checked by the caller with the provider). */
  list(teamId: string, providerId: string, page: { afterId?: string | undefined; limit: number }): Promise<StoredTemplate[]>
  find(providerId: string, name: string, language: string): Promise<StoredTemplate | undefined>
  /**
   * Moves a template to the announced status, found by its provider id, else by name and language. A
   * template not known yet is inserted with what the update tells (its params unknown until the next
   * sync): `inserted` tells the caller to sync.
   */
  applyStatusUpdate(providerId: string, update: TemplateStatusUpdate, nowMs: number): Promise<TemplateStatusOutcome | 'no_provider'>
}

function toTemplate(row: TemplatesTable): StoredTemplate {
  return {
    id: row.id,
    teamId: row.team_id,
    providerId: row.provider_id,
    name: row.name,
    language: row.language,
    status: row.status,
    category: row.category,
    parameterFormat: row.parameter_format,
    params: JSON.parse(row.params) as string[] | null,
    components: JSON.parse(row.components) as unknown,
    providerTemplateId: row.provider_template_id,
    syncedAt: row.synced_at,
    updatedAt: row.updated_at,
  }
}

/** The templates repo over a store. */
export function createTemplatesRepo(deps: { store: Store }): TemplatesRepo {
  const { db } = deps.store

  async function upsertChunk(trx: Transaction<Database>, rows: TemplatesTable[]): Promise<void> {
    await trx
      .insertInto('templates')
      .values(rows)
      .onConflict((oc) =>
        oc.columns(['provider_id', 'name', 'language']).doUpdateSet((eb) => ({
          status: eb.ref('excluded.status'),
          category: eb.ref('excluded.category'),
          parameter_format: eb.ref('excluded.parameter_format'),
          params: eb.ref('excluded.params'),
          components: eb.ref('excluded.components'),
          provider_template_id: eb.ref('excluded.provider_template_id'),
          synced_at: eb.ref('excluded.synced_at'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute()
  }

  return {
    async replaceForProvider(teamId, providerId, templates, nowMs) {
      const stamp = isoAt(nowMs)
      // A provider may list one (name, language) twice across pages; the last one wins, as in an upsert.
      const unique = new Map<string, TemplatesTable>()
      for (const t of templates) {
        const language = normaliseLanguage(t.language)
        unique.set(`${t.name}\u0000${language}`, {
          id: newId('tpl', nowMs),
          team_id: teamId,
          provider_id: providerId,
          name: t.name,
          language,
          status: t.status.toUpperCase(),
          category: t.category,
          parameter_format: t.parameterFormat,
          params: JSON.stringify(t.params),
          components: JSON.stringify(t.components ?? null),
          provider_template_id: t.providerTemplateId,
          synced_at: stamp,
          updated_at: stamp,
        })
      }
      const rows = [...unique.values()]
      await db.transaction().execute(async (trx) => {
        for (let i = 0; i < rows.length; i += INSERT_CHUNK) await upsertChunk(trx, rows.slice(i, i + INSERT_CHUNK))
        // Every row listed now carries this sync's stamp; the others are gone at the provider.
        await trx.deleteFrom('templates').where('provider_id', '=', providerId).where('synced_at', '<>', stamp).execute()
      })
      return rows.length
    },

    async list(teamId, providerId, page) {
      let query = db.selectFrom('templates').selectAll().where('provider_id', '=', providerId).where('team_id', '=', teamId)
      if (page.afterId !== undefined) query = query.where('id', '>', page.afterId)
      const rows = await query.orderBy('id').limit(page.limit).execute()
      return rows.map(toTemplate)
    },

    async find(providerId, name, language) {
      const row = await db
        .selectFrom('templates')
        .selectAll()
        .where('provider_id', '=', providerId)
        .where('name', '=', name)
        .where('language', '=', normaliseLanguage(language))
        .executeTakeFirst()
      return row ? toTemplate(row) : undefined
    },

    async applyStatusUpdate(providerId, update, nowMs) {
      const stamp = isoAt(nowMs)
      const language = normaliseLanguage(update.language)
      const status = update.status.toUpperCase()
      const set: Partial<TemplatesTable> = { status, updated_at: stamp }
      if (update.category) set.category = update.category.toUpperCase()
      // Meta keys a template by its id; a sync keyed it by name and language: either finds the row.
      if (update.providerTemplateId !== null) {
        const byId = await db
          .updateTable('templates')
          .set(set)
          .where('provider_id', '=', providerId)
          .where('provider_template_id', '=', update.providerTemplateId)
          .where('language', '=', language)
          .executeTakeFirst()
        if (Number(byId.numUpdatedRows) > 0) return 'updated'
      }
      const byName = await db
        .updateTable('templates')
        .set(update.providerTemplateId === null ? set : { ...set, provider_template_id: update.providerTemplateId })
        .where('provider_id', '=', providerId)
        .where('name', '=', update.name)
        .where('language', '=', language)
        .executeTakeFirst()
      if (Number(byName.numUpdatedRows) > 0) return 'updated'
      const provider = await db.selectFrom('providers').select('team_id').where('id', '=', providerId).executeTakeFirst()
      if (!provider) return 'no_provider'
      await db
        .insertInto('templates')
        .values({
          id: newId('tpl', nowMs),
          team_id: provider.team_id,
          provider_id: providerId,
          name: update.name,
          language,
          status,
          category: update.category ? update.category.toUpperCase() : null,
          parameter_format: 'POSITIONAL',
          // Not known from a status update: null until the next sync, and a send is not checked on them.
          params: 'null',
          components: 'null',
          provider_template_id: update.providerTemplateId,
          synced_at: stamp,
          updated_at: stamp,
        })
        // A sync or another instance inserted it meanwhile: set the status on that row instead.
        .onConflict((oc) => oc.columns(['provider_id', 'name', 'language']).doUpdateSet({ status, updated_at: stamp }))
        .execute()
      return 'inserted'
    },
  }
}

/** What `checkTemplateSend` needs to know about the send. */
export interface TemplateSendCheck {
  providerId: string
  /** Whether the provider lists its templates (`capabilities.templates === 'synced'`). */
  synced: boolean
  /** The provider's default template language (`ProviderKind.defaultTemplateLanguage`), or null. */
  defaultLanguage: string | null
  message: TemplateOutbound
  /** Where the message is in the request (`message`, `replies[1]`): errors name `<field>.name`, `.language` or `.params`. */
  field: string
}

function listed(values: readonly string[]): string {
  const shown = values.slice(0, NAMES_SHOWN).map((v) => `"${v}"`).join(', ')
  return values.length > NAMES_SHOWN ? `${shown} and ${values.length - NAMES_SHOWN} more` : shown
}

/**
 * Checks a template send against the provider's synced list before anything is queued. Null when it
 * fits, and when there is nothing to check against (the provider does not sync, or has no templates
 * stored yet); otherwise the catalogue error (`template_not_found`, `template_not_approved`,
 * `template_params_mismatch`) with a sentence naming what the template takes.
 */
export async function checkTemplateSend(db: Kysely<Database>, check: TemplateSendCheck): Promise<GatewayError | null> {
  if (!check.synced) return null
  const { message, field } = check
  const rows = await db
    .selectFrom('templates')
    .select(['language', 'status', 'parameter_format', 'params'])
    .where('provider_id', '=', check.providerId)
    .where('name', '=', message.name)
    .execute()
  if (rows.length === 0) {
    const names = await db.selectFrom('templates').select('name').distinct().where('provider_id', '=', check.providerId).orderBy('name').execute()
    if (names.length === 0) return null
    return GW_ERR_API_TEMPLATE_NOT_FOUND(
      `No template named "${message.name}" is known for this provider; it has ${listed(names.map((n) => n.name))}. Check the name, or sync the provider's templates (POST /api/providers/${check.providerId}/templates/sync) if it was made just now.`,
      { field: `${field}.name` },
    )
  }
  // A provider without a default language (Twilio: a content SID names one language) takes the only one.
  const only = rows.length === 1 && check.defaultLanguage === null ? rows[0]!.language : undefined
  const language = normaliseLanguage(message.language ?? check.defaultLanguage ?? only ?? 'en')
  const row = rows.find((r) => r.language === language)
  if (row === undefined) {
    return GW_ERR_API_TEMPLATE_NOT_FOUND(
      `Template "${message.name}" has no "${language}" version; it exists in ${listed(rows.map((r) => r.language))}. Set "language" to one of them.`,
      { field: `${field}.language` },
    )
  }
  if (row.status !== APPROVED) {
    return GW_ERR_API_TEMPLATE_NOT_APPROVED(
      `Template "${message.name}" (${language}) is ${row.status} at the provider, and only APPROVED templates can be sent; wait for its approval or send another template.`,
      { field: `${field}.name` },
    )
  }
  const params = JSON.parse(row.params) as string[] | null
  // Not known yet (first seen in a status webhook, before a sync): WhatsApp will judge the params.
  if (params === null) return null
  const problem = templateParamsProblem(message, { status: row.status, parameterFormat: row.parameter_format, params })
  return problem === null ? null : GW_ERR_API_TEMPLATE_PARAMS_MISMATCH(`${problem}.`, { field: `${field}.params` })
}
