// node audit.mjs URL: the graphql-http server audits against URL; prints each result that is not ok
// and a closing line "N ok, N warnings, N errors"; exits 1 unless warnings and errors are both 0.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
const counts = { ok: 0, warn: 0, error: 0 };
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  counts[result.status] += 1;
  if (result.status !== 'ok') {
    console.log(`${result.status.toUpperCase()} ${audit.id} ${audit.name}: ${result.reason}`);
  }
}
console.log(`${counts.ok} ok, ${counts.warn} warnings, ${counts.error} errors`);
process.exit(counts.warn || counts.error ? 1 : 0);
