import fs from 'node:fs';
import YAML from 'yaml';
const spec = YAML.parse(fs.readFileSync('/work/shared/keap/keap-v2-openapi.yml','utf8'));
const want = process.argv.slice(2);
for (const p of want) {
  const item = spec.paths["/rest"+p];
  if (!item) { console.log('MISSING', p); continue; }
  for (const [m, op] of Object.entries(item)) {
    if (typeof op !== 'object' || !op.responses) continue;
    console.log('==', m.toUpperCase(), p, op.operationId);
    for (const prm of op.parameters ?? []) {
      const x = prm.$ref ? prm.$ref : prm;
      console.log('  param', typeof x === 'string' ? x : `${x.name} in=${x.in} ${JSON.stringify(x.schema)} :: ${(x.description??'').replace(/\s+/g,' ').slice(0,600)}`);
    }
    for (const [code, r] of Object.entries(op.responses)) {
      const c = r.content ? Object.entries(r.content).map(([k,v])=>k+' '+JSON.stringify(v.schema)).join(' | ') : JSON.stringify(r);
      console.log('  resp', code, c);
    }
  }
}
