// A real federation gateway for tests/graphql/test_federation.py: Apollo Gateway composes the
// subgraphs it is given (their `_service { sdl }`) into a supergraph and serves it.
//   node supergraph.mjs PORT NAME=URL...
import { ApolloGateway, IntrospectAndCompose } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";

const [port, ...named] = process.argv.slice(2);
const subgraphs = named.map((pair) => {
  const at = pair.indexOf("=");
  return { name: pair.slice(0, at), url: pair.slice(at + 1) };
});

const gateway = new ApolloGateway({ supergraphSdl: new IntrospectAndCompose({ subgraphs }) });
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { host: "127.0.0.1", port: Number(port) },
});
console.log(JSON.stringify({ listening: url }));
