// Writes the generated artefacts: schema.graphql and docs/error-codes.md.
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { renderErrorCodesDoc } from '../src/api/error-reference.js';
import { printGatewaySchema } from '../src/graphql/schema.js';

export async function generatedFiles(): Promise<Record<string, string>> {
  return { 'schema.graphql': await printGatewaySchema(), 'docs/error-codes.md': renderErrorCodesDoc() };
}

mkdirSync('docs', { recursive: true });
for (const [file, content] of Object.entries(await generatedFiles())) {
  writeFileSync(file, content);
  process.stdout.write(`wrote ${file}\n`);
}
