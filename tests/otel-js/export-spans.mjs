// Exports spans that a test describes through the OpenTelemetry JS SDK (sdk-trace-base + the OTLP/HTTP JSON
// exporter), as an instrumented Node.js service would, to the test's MaestroSla.
//   node export-spans.mjs SPEC.json
// SPEC: { url, apiKey, service, spans: [{ name, kind: "SERVER"|"CLIENT"|"INTERNAL", start: [s, ns], end: [s, ns],
//         attributes: {…}, error: bool }] }. Times are HrTime ([seconds, nanoseconds]), which the SDK keeps exactly.
// Prints {"exported": N} when every export succeeded; exits 1 otherwise.
import { readFile } from 'node:fs/promises';
import { diag, DiagConsoleLogger, DiagLogLevel, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

const spec = JSON.parse(await readFile(process.argv[2], 'utf8'));
diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);

// The SDK's own exporter; failed exports are counted here so that a lost batch fails the run.
const exporter = new OTLPTraceExporter({
  url: spec.url,
  headers: { 'X-Api-Key': spec.apiKey },
  // The first export also warms MaestroSla up (its endpoint is compiled on first use): on a loaded machine that
  // outlasts the default 10 s.
  timeoutMillis: 120000,
});
let failed = 0;
let exported = 0;
const counting = {
  export(spans, done) {
    exporter.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) exported += spans.length;
      else {
        failed += spans.length;
        console.error('export failed:', result.error?.message ?? result.error);
      }
      done(result);
    });
  },
  shutdown: () => exporter.shutdown(),
  forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
};

const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': spec.service }),
  spanProcessors: [new BatchSpanProcessor(counting, {
    maxQueueSize: spec.spans.length + 1,
    maxExportBatchSize: 512,
    exportTimeoutMillis: 120000,
  })],
});
const tracer = provider.getTracer('maestrosla-otel-js-test');

for (const s of spec.spans) {
  const span = tracer.startSpan(s.name, { kind: SpanKind[s.kind], startTime: s.start, attributes: s.attributes });
  if (s.error) span.setStatus({ code: SpanStatusCode.ERROR, message: 'failed' });
  span.end(s.end);
}

await provider.forceFlush();
await provider.shutdown();
if (failed > 0) {
  console.error(`${failed} spans were not exported`);
  process.exit(1);
}
console.log(JSON.stringify({ exported }));
