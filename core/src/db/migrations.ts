/**
 * One migration step as plain data: raw SQL for one dialect. Each data-owning unit (core, a
 * plugin) keeps `migrations/sqlite/` and `migrations/mysql/` with the same step names, so both
 * dialects move in lockstep; a test proves each dialect then matches the entities exactly.
 *
 * @example
 * export const m0001: MigrationStep = {
 *   name: '0001_tickets',
 *   up: ['create table `tickets` (`id` integer not null primary key autoincrement, ...)'],
 * }
 */
export interface MigrationStep {
  /** Sortable, unique within its unit: `0001_what_it_does`. */
  readonly name: string
  readonly up: readonly string[]
  readonly down?: readonly string[]
}

export type Dialect = 'sqlite' | 'mysql'

export type DialectMigrations = Readonly<Record<Dialect, readonly MigrationStep[]>>

export interface MigrationUnit {
  /** `core` or a plugin id; prefixes step names in the migrations table. */
  readonly unit: string
  readonly migrations: DialectMigrations
}

/** Checks that both dialects list the same steps in the same order. */
export function checkDialectsAgree(unit: string, migrations: DialectMigrations): string | undefined {
  const sqlite = migrations.sqlite.map(step => step.name)
  const mysql = migrations.mysql.map(step => step.name)
  if (sqlite.join('\n') !== mysql.join('\n')) {
    return `${unit} migrations differ between dialects (sqlite: ${sqlite.join(', ') || 'none'}; mysql: ${mysql.join(', ') || 'none'})`
  }
  const seen = new Set<string>()
  for (const name of sqlite) {
    if (seen.has(name)) return `${unit} has two migrations named ${name}`
    seen.add(name)
  }
  return undefined
}

/**
 * The names the migrations table records, in the order they run: core first, then plugins.
 * MikroORM's migrator (loaded only when one is due, `migrator.ts`) runs the same list.
 */
export function migrationNames(units: readonly MigrationUnit[], dialect: Dialect): string[] {
  return units.flatMap(({ unit, migrations }) => migrations[dialect].map(step => `${unit}/${step.name}`))
}
