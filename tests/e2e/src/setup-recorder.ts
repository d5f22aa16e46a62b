import { installFetchRecorder } from './observed-statuses.js';

// Every test worker records the apps' answers to its fetch calls (checked against the document after the run).
installFetchRecorder();
