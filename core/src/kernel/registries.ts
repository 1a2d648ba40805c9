import type { HealthCheck } from '../http/health.js'
import type { CallObserver } from '../pipeline/lifecycle.js'
import type { LimitPolicy } from '../pipeline/limits.js'
import type { PersonalModels } from '../pipeline/personal-upstream.js'
import type { AuthStrategy } from '../auth/principal.js'
import type { ChatProvider } from '../pipeline/provider.js'
import type { RetentionTask } from '../retention/task.js'
import type { ObjectStorage } from '../storage/port.js'
import type { UiAdminSection, UiNavItem, UiPage, UiPartial } from '../ui/contributions.js'
import type { CliCommand, DoctorCheck } from './plugin.js'
import { Registry } from './registry.js'

/**
 * Every extension point, one registry each. Ids belong to the plugin that registers them; what
 * every plugin refers to by name (providers, storage drivers, CLI commands) is `shared`, and what
 * would really collide (two pages on one path, two partials of one name) is `unique`.
 */
export interface Registries {
  readonly providers: Registry<ChatProvider>
  readonly auth: Registry<AuthStrategy>
  readonly limits: Registry<LimitPolicy>
  readonly calls: Registry<CallObserver>
  readonly personalModels: Registry<PersonalModels>
  readonly retention: Registry<RetentionTask>
  readonly storage: Registry<ObjectStorage>
  readonly health: Registry<HealthCheck>
  readonly doctor: Registry<DoctorCheck>
  readonly commands: Registry<CliCommand>
  readonly uiPages: Registry<UiPage>
  readonly uiNav: Registry<UiNavItem>
  readonly uiPartials: Registry<UiPartial>
  readonly uiAdminSections: Registry<UiAdminSection>
}

export function createRegistries(): Registries {
  return {
    providers: new Registry('Chat provider', { shared: true }),
    auth: new Registry('Auth strategy'),
    limits: new Registry('Limit policy'),
    calls: new Registry('Call observer'),
    personalModels: new Registry('Personal models'),
    retention: new Registry('Retention task'),
    storage: new Registry('Object storage', { shared: true }),
    health: new Registry('Health check'),
    doctor: new Registry('Doctor check'),
    commands: new Registry('CLI command', { shared: true }),
    uiPages: new Registry<UiPage>('UI page', { unique: { what: 'path', of: page => page.path } }),
    uiNav: new Registry('UI nav item'),
    uiPartials: new Registry<UiPartial>('UI partial', { unique: { what: 'name', of: partial => partial.name } }),
    uiAdminSections: new Registry<UiAdminSection>('Admin section', {
      unique: { what: 'path', of: section => section.path },
    }),
  }
}

export function sealAll(registries: Registries): void {
  for (const registry of Object.values(registries)) (registry as Registry<unknown>).seal()
}
