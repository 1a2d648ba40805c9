import { UniqueConstraintViolationException, type EntityManager, type Logger } from '@parley/core'
import { User } from './entities.js'
import { usernameKey } from './users.js'

/**
 * Brings the keys of usernames stored before keys were NFKC-normalised and case-folded up to
 * date, at start. Only non-ASCII usernames can differ (for ASCII the old lower-cased key is
 * the new one), so only those are read: cheap on every start. SQL has no NFKC, hence no
 * migration. Two old rows whose names now meet keep their old key and are logged; an admin
 * renames one of them.
 */
export async function rekeyUsernames(em: EntityManager, dialect: 'sqlite' | 'mysql', log: Logger): Promise<void> {
  const nonAscii =
    dialect === 'mysql'
      ? 'length(`username`) <> char_length(`username`)'
      : 'length(cast(`username` as blob)) <> length(`username`)'
  const rows = (await em
    .getConnection()
    .execute(`select \`id\`, \`username\`, \`username_key\` from \`identity_users\` where ${nonAscii}`)) as Array<{
    id: number
    username: string
    username_key: string
  }>
  for (const row of rows) {
    const key = usernameKey(row.username)
    if (key === row.username_key) continue
    if (key.length > 64) {
      log.warn(
        { user_id: Number(row.id) },
        'username key left as it was: its normalised form is too long; rename the user',
      )
      continue
    }
    try {
      await em.nativeUpdate(User, { id: Number(row.id) }, { usernameKey: key })
      log.info({ user_id: Number(row.id) }, 'username key normalised')
    } catch (error) {
      if (!(error instanceof UniqueConstraintViolationException)) throw error
      log.warn(
        { user_id: Number(row.id) },
        'username key left as it was: another account has the same name once normalised; rename one of them',
      )
    }
  }
}
