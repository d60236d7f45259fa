import fs from 'node:fs';
import YAML from 'yaml';
const spec = YAML.parse(fs.readFileSync('/work/shared/keap/keap-v2-openapi.yml','utf8'));
for (const p of process.argv.slice(2)) {
  const op = spec.paths['/rest'+p]?.get;
  if (!op) { console.log('MISSING', p); continue; }
  console.log('=== GET', p, op.operationId, JSON.stringify(op.responses['200']?.content?.['application/json']?.schema));
  for (const prm of op.parameters ?? []) {
    if (['filter','order_by','fields','page_size'].includes(prm.name)) console.log(' ', prm.name, JSON.stringify(prm.schema), '::', (prm.description??'').replace(/\s+/g,' '));
  }
}
