import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { withFileLock } from './lock';

describe('withFileLock', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-lock-'));
  const lock = path.join(dir, '.lock');

  it('runs bodies that share a lock one after the other', async () => {
    const events: string[] = [];
    const body = (name: string) => async () => {
      events.push(`${name} start`);
      await new Promise((r) => setTimeout(r, 50));
      events.push(`${name} end`);
    };
    await Promise.all([withFileLock(lock, body('a')), withFileLock(lock, body('b'))]);
    expect(events).toEqual(['a start', 'a end', 'b start', 'b end']);
    expect(fs.existsSync(lock)).toBe(false);
  });

  it('takes over a lock whose owner process is gone', async () => {
    fs.mkdirSync(lock);
    fs.writeFileSync(path.join(lock, 'owner'), '999999999');
    await expect(withFileLock(lock, async () => 'ran')).resolves.toBe('ran');
  });

  it('releases the lock when the body fails', async () => {
    await expect(withFileLock(lock, async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(fs.existsSync(lock)).toBe(false);
  });
});
