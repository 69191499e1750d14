// A CommonJS partner (no "type": "module", no bundler) on the packed @sentiment-api/client, which is
// ESM: Node ≥ 20.19 require()s it through the package's `default` export condition.
// `SENTIMENT_API_KEY=<key> node main.cjs <service URL>` prints a JSON report of what it saw;
// test/partner-app-cjs/partner-app-cjs.e2e.spec.ts runs it against a live server.
const { client, getModelInfo, predictSentiment } = require('@sentiment-api/client');

async function main(baseUrl) {
  client.setConfig({ baseUrl, auth: process.env.SENTIMENT_API_KEY });
  const model = await getModelInfo();
  const verdicts = await predictSentiment({ body: { text: ['I love this phone', 'Terrible battery, I hate it'] } });
  // The same call without the key: the 401 arrives as a typed Problem, not an exception.
  const anonymous = await predictSentiment({ auth: undefined, body: { text: ['Great service'] } });
  return {
    model: model.data?.id,
    labels: verdicts.data?.predictions.map(([best]) => best.label),
    anonymous: { status: anonymous.response.status, type: anonymous.error?.type },
  };
}

const [baseUrl] = process.argv.slice(2);
if (!baseUrl) {
  console.error('usage: SENTIMENT_API_KEY=<key> node main.cjs <service URL>');
  process.exit(2);
}
main(baseUrl).then(
  (report) => console.log(JSON.stringify(report)),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
