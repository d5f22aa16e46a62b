import { GENERATED_FILES, generate, writeGenerated } from './generate.js';

// `pnpm openapi`: regenerates the committed OpenAPI document and the client's types from the apps' routes.
const files = await generate();
await writeGenerated(files);
console.log(`wrote ${GENERATED_FILES.document} and ${GENERATED_FILES.types}`);
