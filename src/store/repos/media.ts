/**
 * Media rows: the gateway's record of each item kept in the media store (the bytes live there, under
 * `storage_key`). The only SQL of the `media` table outside the migrations.
 */
import type { Kysely } from 'kysely'
import type { Database, MediaTable } from '../schema.js'

/** A media row as the media library sees it. */
export interface StoredMedia {
  id: string
  teamId: string
  mimeType: string
  size: number
  /** Hex sha256 of the bytes. */
  sha256: string
  filename: string | null
  storageKey: string
  source: MediaTable['source']
  createdAt: string
}

/** One upload of the bytes to a provider account. */
export interface ProviderUpload {
  id: string
  uploadedAt: string
}

/** Media row storage. */
export interface MediaRepo {
  insert(media: StoredMedia): Promise<void>
  /** The team's row, or undefined (another team's id finds nothing). */
  find(teamId: string, id: string): Promise<StoredMedia | undefined>
  findById(id: string): Promise<StoredMedia | undefined>
  /** The provider's id of an earlier upload to `providerId`, or undefined. */
  providerUpload(id: string, providerId: string): Promise<ProviderUpload | undefined>
  /** Records an upload to `providerId` (replacing an earlier one); false when the row is gone. */
  recordProviderUpload(id: string, providerId: string, upload: ProviderUpload): Promise<boolean>
  delete(id: string): Promise<void>
}

type UploadsJson = Record<string, { id: string; uploaded_at: string }>

function toStoredMedia(row: MediaTable): StoredMedia {
  return {
    id: row.id,
    teamId: row.team_id,
    mimeType: row.mime_type,
    // PostgreSQL's driver may hand back integers as numbers or strings depending on the column type.
    size: Number(row.size),
    sha256: row.sha256,
    filename: row.filename,
    storageKey: row.storage_key,
    source: row.source,
    createdAt: row.created_at,
  }
}

function parseUploads(text: string): UploadsJson {
  try {
    const value: unknown = JSON.parse(text)
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as UploadsJson) : {}
  } catch {
    // A damaged column costs one more upload, never a failed send.
    return {}
  }
}

/** The media repo over a Kysely database. */
export function createMediaRepo(db: Kysely<Database>): MediaRepo {
  return {
    async insert(media) {
      await db
        .insertInto('media')
        .values({
          id: media.id,
          team_id: media.teamId,
          mime_type: media.mimeType,
          size: media.size,
          sha256: media.sha256,
          filename: media.filename,
          storage_key: media.storageKey,
          source: media.source,
          provider_uploads: '{}',
          created_at: media.createdAt,
        })
        .execute()
    },

    async find(teamId, id) {
      const row = await db.selectFrom('media').selectAll().where('id', '=', id).where('team_id', '=', teamId).executeTakeFirst()
      return row ? toStoredMedia(row) : undefined
    },

    async findById(id) {
      const row = await db.selectFrom('media').selectAll().where('id', '=', id).executeTakeFirst()
      return row ? toStoredMedia(row) : undefined
    },

    async providerUpload(id, providerId) {
      const row = await db.selectFrom('media').select('provider_uploads').where('id', '=', id).executeTakeFirst()
      const upload = row ? parseUploads(row.provider_uploads)[providerId] : undefined
      return upload && typeof upload.id === 'string' ? { id: upload.id, uploadedAt: upload.uploaded_at } : undefined
    },

    async recordProviderUpload(id, providerId, upload) {
      // Compare-and-set on the old JSON text, so two uploads of one item to two providers (on any
      // dialect, without a row lock) both keep their entry: the loser reads again and retries.
      for (let attempt = 0; attempt < 10; attempt++) {
        const row = await db.selectFrom('media').select('provider_uploads').where('id', '=', id).executeTakeFirst()
        if (!row) return false
        const uploads = parseUploads(row.provider_uploads)
        uploads[providerId] = { id: upload.id, uploaded_at: upload.uploadedAt }
        const result = await db
          .updateTable('media')
          .set({ provider_uploads: JSON.stringify(uploads) })
          .where('id', '=', id)
          .where('provider_uploads', '=', row.provider_uploads)
          .executeTakeFirst()
        if (Number(result.numUpdatedRows) > 0) return true
      }
      throw new Error(`media ${id}: provider_uploads kept changing under concurrent writers`)
    },

    async delete(id) {
      await db.deleteFrom('media').where('id', '=', id).execute()
    },
  }
}
