import type { Identity } from '../context.js'

/** Admin API for users and groups (written next). */
export function installAdminRoutes(_identity: Identity): void {}
