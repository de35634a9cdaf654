// postern.example.yaml is documented as "a commented copy of the defaults": it must load, and give
// exactly the defaults. systemd/postern.yaml (the production config) must load too.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validateConfig } from '../../server/config.js';
import { MODULE_TABLE } from '../../modules/table.js';

const SECTIONS = MODULE_TABLE;

const file = (name: string) => fileURLToPath(new URL(`../../${name}`, import.meta.url));

describe('the shipped config files', () => {
  it('postern.example.yaml holds every default, and nothing else', async () => {
    const example = validateConfig(parse(await readFile(file('postern.example.yaml'), 'utf8')), null, SECTIONS);
    const defaults = validateConfig({}, null, SECTIONS);
    expect(example).toEqual(defaults);
  });

  it('systemd/postern.yaml is valid and keeps its data under /var/lib/postern', async () => {
    const production = validateConfig(parse(await readFile(file('systemd/postern.yaml'), 'utf8')), file('systemd/postern.yaml'), SECTIONS);
    expect(production.dataDir).toBe('/var/lib/postern');
  });
});
