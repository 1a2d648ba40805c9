import { ParleyError, UniqueConstraintViolationException, type CliCommand } from '@parley/core'
import { createAdmin } from './bootstrap.js'
import { identityErrors } from './errors.js'
import { User } from './entities.js'
import { assertAvailable, normaliseEmail, uniqueViolation } from './users.js'

/**
 * `parley create-admin --username NAME [--email ADDRESS] [--password SECRET]`: a root account
 * for an operator locked out of the console. Without --password one is generated and printed.
 */
export function createAdminCommand(out: NodeJS.WritableStream = process.stdout): CliCommand {
  return {
    description: 'create a root account (--username NAME [--email ADDRESS] [--password SECRET])',
    async run(args, gateway) {
      const flags = parseFlags(args)
      const username = flags.username ?? process.env.ADMIN_USERNAME
      if (!username) {
        out.write('create-admin needs --username NAME\n')
        return 2
      }
      const em = gateway.db.em()
      if (await em.findOne(User, { usernameKey: username.trim().toLowerCase() })) {
        out.write(`${identityErrors.PARLEY_ERR_IDENTITY_USERNAME_TAKEN().message}: ${username}\n`)
        return 1
      }
      try {
        // A bad or taken email, or a weak password, is an operator's typo: say so, no stack trace.
        if (flags.email !== undefined) await assertAvailable(em, { email: normaliseEmail(flags.email) })
        const { user, password, generated } = await createAdmin(em, {
          username,
          email: flags.email,
          password: flags.password ?? process.env.ADMIN_PASSWORD,
        })
        out.write(`Created root account ${user.username} (id ${user.id}).\n`)
        if (generated) out.write(`Password (shown once): ${password}\n`)
        return 0
      } catch (error) {
        const known = error instanceof UniqueConstraintViolationException ? uniqueViolation(error) : error
        if (!(known instanceof ParleyError)) throw error
        out.write(`${known.message}\n`)
        return 1
      }
    },
  }
}

function parseFlags(args: readonly string[]): Record<string, string | undefined> {
  const flags: Record<string, string | undefined> = {}
  for (let i = 0; i < args.length; i++) {
    const match = /^--([a-z]+)(?:=(.*))?$/.exec(args[i] as string)
    if (!match) continue
    flags[match[1] as string] = match[2] ?? args[++i]
  }
  return flags
}
