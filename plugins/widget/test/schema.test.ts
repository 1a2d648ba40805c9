import t from 'tap'
import { createTestGateway, missingService, pendingSchemaChanges, testServices } from '@parley/core/testing'
import widget from '../src/index.js'
import { ensureBuilt } from './helpers.js'

/** The migrations of each dialect create exactly the widget's entities. */
for (const dialect of [
  { name: 'sqlite', skip: false as string | false },
  { name: 'mysql', skip: missingService('mysql') },
]) {
  t.test(`${dialect.name}: migrated schema matches the entities`, { skip: dialect.skip }, async t => {
    await ensureBuilt()
    const mysqlUrl = dialect.name === 'mysql' ? testServices.mysqlUrl : undefined
    const gateway = await createTestGateway({ plugins: [widget], ...(mysqlUrl ? { mysqlUrl } : {}) })
    t.teardown(gateway.close)
    t.same(await pendingSchemaChanges(gateway), [])
  })
}
