import type { Constructor, IMigrator, MikroORM } from '@mikro-orm/core'
import { Migration, Migrator } from '@mikro-orm/migrations'
import { migrationNames, type Dialect, type MigrationStep, type MigrationUnit } from './migrations.js'

/*
 * MikroORM's migrator and what it needs (Umzug, knex's schema tools, fs-extra, ...): about
 * 27 MB of resident memory in a process of its own (bench/NOTES.md, "Memory at start"). The
 * database imports this module only when a migration is due or the migrations table cannot be
 * read yet, so a start with nothing to apply never loads it.
 */

/** Gives the ORM its migrator, with every unit's steps for the dialect; once per ORM. */
export function attachMigrator(orm: MikroORM, units: readonly MigrationUnit[], dialect: Dialect): IMigrator {
  orm.config.set('migrations', { ...orm.config.get('migrations'), migrationsList: toMigrationsList(units, dialect) })
  Migrator.register(orm)
  return orm.migrator
}

/** MikroORM's `migrationsList` for one dialect, in unit order (core first, then plugins). */
function toMigrationsList(
  units: readonly MigrationUnit[],
  dialect: Dialect,
): Array<{ name: string; class: Constructor<Migration> }> {
  const names = migrationNames(units, dialect)
  return units
    .flatMap(({ migrations }) => migrations[dialect])
    .map((step, index) => ({ name: names[index] as string, class: toMigrationClass(step) }))
}

function toMigrationClass(step: MigrationStep): Constructor<Migration> {
  return class extends Migration {
    override async up(): Promise<void> {
      for (const sql of step.up) this.addSql(sql)
    }

    override async down(): Promise<void> {
      for (const sql of step.down ?? []) this.addSql(sql)
    }
  }
}
