import type { Identity } from '../context.js'
import { installAdminGroupRoutes } from './admin-groups.js'
import { installAdminPasswordRoutes } from './admin-passwords.js'
import { installAdminUserRoutes } from './admin-users.js'

/** Admin API for users and groups; every route requires a signed-in admin or root session. */
export function installAdminRoutes(identity: Identity): void {
  installAdminUserRoutes(identity)
  installAdminPasswordRoutes(identity)
  installAdminGroupRoutes(identity)
}
