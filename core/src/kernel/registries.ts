import type { HealthCheck } from '../http/health.js'
import type { LimitPolicy } from '../pipeline/limits.js'
import type { AuthStrategy } from '../pipeline/principal.js'
import type { ChatProvider } from '../pipeline/provider.js'
import type { RetentionTask } from '../retention/task.js'
import type { ObjectStorage } from '../storage/port.js'
import type { UiAdminSection, UiNavItem, UiPage, UiPartial } from '../ui/contributions.js'
import type { CliCommand, DoctorCheck } from './plugin.js'
import { Registry } from './registry.js'

/** Every extension point of ARCHITECTURE.md, one registry each. */
export interface Registries {
  readonly providers: Registry<ChatProvider>
  readonly auth: Registry<AuthStrategy>
  readonly limits: Registry<LimitPolicy>
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
    providers: new Registry('Chat provider'),
    auth: new Registry('Auth strategy'),
    limits: new Registry('Limit policy'),
    retention: new Registry('Retention task'),
    storage: new Registry('Object storage'),
    health: new Registry('Health check'),
    doctor: new Registry('Doctor check'),
    commands: new Registry('CLI command'),
    uiPages: new Registry('UI page'),
    uiNav: new Registry('UI nav item'),
    uiPartials: new Registry('UI partial'),
    uiAdminSections: new Registry('Admin section'),
  }
}

export function sealAll(registries: Registries): void {
  for (const registry of Object.values(registries)) (registry as Registry<unknown>).seal()
}
