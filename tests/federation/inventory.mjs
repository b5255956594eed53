// A tiny inventory subgraph for tests/graphql/test_federation.py: it keys Product by id, adds
// where each product is kept and when it ships (which needs the catalogue's `stock`), and
// lists a warehouse's products as bare references the catalogue subgraph resolves.
//   node inventory.mjs PORT ID...
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginInlineTraceDisabled } from "@apollo/server/plugin/disabled";
import { startStandaloneServer } from "@apollo/server/standalone";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { parse } from "graphql";

const [port, ...ids] = process.argv.slice(2);
const warehouseOf = (id) => (Number(id) % 2 === 1 ? "north" : "south");

const typeDefs = parse(`
  extend schema
    @link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@key", "@external", "@requires"])

  type Product @key(fields: "id") {
    id: ID!
    "The warehouse the product is kept in."
    warehouse: String!
    stock: Int! @external
    "Days until an order ships: 1 while it is in stock, else the restocking time."
    shipsInDays: Int! @requires(fields: "stock")
  }

  type Query {
    "The products kept in a warehouse."
    stored(warehouse: String!): [Product!]!
  }
`);

const resolvers = {
  Query: {
    stored: (_, { warehouse }) => ids.filter((id) => warehouseOf(id) === warehouse).map((id) => ({ id })),
  },
  Product: {
    warehouse: (product) => warehouseOf(product.id),
    shipsInDays: (product) => (product.stock > 0 ? 1 : 14),
  },
};

const server = new ApolloServer({
  schema: buildSubgraphSchema({ typeDefs, resolvers }),
  plugins: [ApolloServerPluginInlineTraceDisabled()],
});
const { url } = await startStandaloneServer(server, {
  listen: { host: "127.0.0.1", port: Number(port) },
});
console.log(JSON.stringify({ listening: url }));
