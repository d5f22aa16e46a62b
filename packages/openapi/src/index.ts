export { appDocument, buildInertApp, PUBLIC_APPS, type PublicAppName } from './apps.js';
export {
  buildDocument,
  documentText,
  GENERATED_FILES,
  type GeneratedFiles,
  generate,
  readCommitted,
  typesText,
  writeGenerated,
} from './generate.js';
export { type AppDocument, isJsonObject, type JsonObject, MERGED_INFO, mergeDocuments } from './merge.js';
