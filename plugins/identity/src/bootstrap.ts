import { randomBytes } from 'node:crypto'
import { UniqueConstraintViolationException, type EntityManager, type Logger } from '@parley/core'
import { User } from './entities.js'
import { checkPasswordStrength, hashPassword } from './passwords.js'
import { normaliseEmail, normaliseUsername, type UserRow } from './users.js'

export interface AdminSpec {
  readonly username: string
  readonly password?: string | undefined
  readonly email?: string | undefined
}

/** A strong password a person can still type: 24 base64url characters, 144 bits. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url')
}

/** Creates a root user; the caller says what to do with a generated password. */
export async function createAdmin(
  em: EntityManager,
  spec: AdminSpec,
): Promise<{ user: UserRow; password: string; generated: boolean }> {
  const { username, key } = normaliseUsername(spec.username)
  const password = spec.password ?? generatePassword()
  await checkPasswordStrength(password)
  const user = em.create(User, {
    // `.invalid` is reserved (RFC 2606): a placeholder the admin replaces with a real address.
    email: spec.email === undefined ? `${key}@parley.invalid` : normaliseEmail(spec.email),
    username,
    usernameKey: key,
    passwordHash: await hashPassword(password),
    role: 'root',
  })
  await em.flush()
  return { user, password, generated: spec.password === undefined }
}

/**
 * First start: when no root or admin exists, create one from ADMIN_USERNAME/ADMIN_PASSWORD,
 * or with a generated password printed once. Instances starting together race on the unique
 * index; the loser finds the winner's admin and does nothing.
 */
export async function bootstrapAdmin(
  em: EntityManager,
  spec: AdminSpec,
  log: Logger,
  print: (text: string) => void,
): Promise<void> {
  if ((await em.count(User, { role: { $in: ['root', 'admin'] } })) > 0) return
  try {
    const { user, password, generated } = await createAdmin(em, spec)
    log.warn(
      { username: user.username, user_id: user.id },
      generated
        ? 'created the first admin with a generated password (printed once on stderr)'
        : 'created the first admin from ADMIN_USERNAME/ADMIN_PASSWORD',
    )
    if (generated) {
      print(
        `\n  Parley admin account created.\n  username: ${user.username}\n  password: ${password}\n  This is shown once. Sign in at /admin and change it.\n\n`,
      )
    }
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) return
    throw error
  }
}
