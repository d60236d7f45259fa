import fs from 'node:fs';
import YAML from 'yaml';
const spec = YAML.parse(fs.readFileSync('/work/shared/keap/keap-v2-openapi.yml','utf8'));
const S = spec.components.schemas;
function strip(o){ if (Array.isArray(o)) return o.map(strip); if (o && typeof o==='object'){const r={}; for (const [k,v] of Object.entries(o)) { if (k==='description'||k==='example'||k==='examples') continue; r[k]=strip(v);} return r;} return o;}
for (const n of process.argv.slice(2)) console.log(n, JSON.stringify(strip(S[n])));
