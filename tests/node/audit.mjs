// Runs graphql-http's GraphQL-over-HTTP server audit against the URL given and prints
// one JSON line per audit: {id, name, status, reason}. Used by tests/graphql/test_endpoint_conformance.py.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
const results = await auditServer({ url });
for (const result of results) {
  const { id, name, status } = result;
  let reason = result.reason ?? null;
  if (result.response) {
    const body = await result.response.text().catch(() => '');
    reason = `${reason} (status ${result.response.status}: ${body.slice(0, 200)})`;
  }
  console.log(JSON.stringify({ id, name, status, reason }));
}
