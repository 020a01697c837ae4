import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import ZongJi from '@vlasky/zongji';
import type mysql from 'mysql2/promise';
import { adminConnection, ensureLab, LAB_SYNC_USER, labSources, uniqueName } from './lab.ts';

before(async () => {
  await ensureLab({ kafka: false });
});

for (const source of labSources()) {
  describe(`zongji on ${source.label}`, () => {
    const db = uniqueName('it_zongji');
    let admin: mysql.Connection;

    before(async () => {
      admin = await adminConnection(undefined, source);
      await admin.query(`CREATE DATABASE ${db}; CREATE TABLE ${db}.t (id BIGINT PRIMARY KEY, name VARCHAR(20))`);
    });

    after(async () => {
      await admin?.query(`DROP DATABASE IF EXISTS ${db}`);
      await admin?.end();
    });

    test('one INSERT is read back from the real binlog through zongji', async () => {
      const zongji = new ZongJi({ host: '127.0.0.1', port: source.port, ...LAB_SYNC_USER });
      try {
        const row = await new Promise<Record<string, unknown>>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no writerows event within 15 s')), 15_000);
          zongji.on('error', reject);
          zongji.on('ready', () => {
            admin.query(`INSERT INTO ${db}.t VALUES (9007199254740993, 'héllo')`).catch(reject);
          });
          zongji.on('binlog', (evt: any) => {
            if (evt.getEventName() === 'writerows' && evt.tableMap[evt.tableId].parentSchema === db) {
              clearTimeout(timer);
              resolve(evt.rows[0]);
            }
          });
          zongji.start({ startAtEnd: true, serverId: 4001 + (source.kind === 'mysql' ? 1 : 0), includeEvents: ['tablemap', 'writerows'] });
        });
        // Beyond 2^53 zongji gives an exact string, never a rounded number.
        assert.equal(String(row.id), '9007199254740993');
        assert.equal(row.name, 'héllo');
      } finally {
        zongji.stop();
      }
    });
  });
}
