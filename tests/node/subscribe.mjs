// graphql-ws's own client against the gateway: prints every event of one operation as a
// JSON line, then "complete" or {"error": ...} / {"closed": code, "reason": ...}.
// Usage: node subscribe.mjs <ws url> <query> [<token>] [<max events>]
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, query, token, maxEvents] = process.argv.slice(2);
const wanted = Number(maxEvents || 1);
const print = (value) => console.log(JSON.stringify(value));

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: token ? { Authorization: `Bearer ${token}` } : {},
  retryAttempts: 0,
  lazy: false,
  on: {
    connected: () => print({ connected: true }),
    closed: (event) => print({ closed: event.code, reason: event.reason }),
  },
});

let seen = 0;
await new Promise((resolve) => {
  const stop = client.subscribe(
    { query },
    {
      next: (value) => {
        print({ next: value });
        seen += 1;
        if (seen >= wanted) {
          stop();
          resolve();
        }
      },
      error: (error) => {
        print({ error: error instanceof Error ? error.message : error });
        resolve();
      },
      complete: () => {
        print({ complete: true });
        resolve();
      },
    },
  );
});
await client.dispose();
