// Tidepool's own client library (tidepool-platform-client, pinned in package.json) against a
// Tidewater stack, every call a Tidepool uploader, app or web client makes that Tidewater
// serves. Writes one JSON document of what each call gave back (to $TIDEWATER_OUT); tests/e2e/test_tidepool_client.py
// asserts on it. Harness requests that are not the client's (joining the clinic with a share
// code, running the summariser now) go through superagent, which the client is built on.
'use strict';

const fs = require('fs');
const superagent = require('superagent');
const tidepool = require('tidepool-platform-client');

const URL = process.env.TIDEWATER_URL;
const PASSWORD = process.env.TIDEWATER_PASSWORD;
const [ANN, BEN, DOC] = ['TIDEWATER_ANN', 'TIDEWATER_BEN', 'TIDEWATER_DOC'].map((k) => process.env[k]);

function client(store) {
  return tidepool({
    host: URL,
    uploadApi: URL,
    dataHost: URL,
    metricsSource: 'tidewater-e2e',
    metricsVersion: '1',
    localStore: store,
    tokenRefreshInterval: 60 * 60 * 1000,
  });
}

// The client's callbacks as promises: resolve with the answer, reject with {status, body}.
function call(api, method, ...args) {
  return new Promise((resolve, reject) => {
    api[method](...args, (err, result) => {
      if (err) {
        reject(new Error(`${method}: ${JSON.stringify({ status: err.status, body: err.body || err })}`));
      } else {
        resolve(result);
      }
    });
  });
}

function memoryStore() {
  const items = {};
  return {
    getItem: (k) => (k in items ? items[k] : null),
    setItem: (k, v) => { items[k] = v; },
    removeItem: (k) => { delete items[k]; },
  };
}

async function harness(method, path, token, body) {
  const request = superagent[method](URL + path).set('x-tidepool-session-token', token);
  const answer = await (body === undefined ? request : request.send(body));
  return answer.body;
}

const HOUR = 3600 * 1000;

// A day of 5-minute CGM readings (mg/dL, as devices send them), ending an hour ago.
function day(deviceId, mgdl) {
  const end = Math.floor(Date.now() / HOUR) * HOUR - HOUR;
  const readings = [];
  for (let n = 0; n < 288; n += 1) {
    readings.push({
      type: 'cbg',
      units: 'mg/dL',
      value: mgdl,
      deviceId,
      time: new Date(end - (287 - n) * 5 * 60 * 1000).toISOString(),
      timezoneOffset: 0,
    });
  }
  return readings;
}

async function signedIn(email) {
  const store = memoryStore();
  const api = client(store);
  const login = await call(api, 'login', { username: email, password: PASSWORD }, { remember: true });
  return { api, store, login };
}

async function upload(person, deviceId, mgdl) {
  const userId = person.login.userid;
  const created = await call(person.api, 'createDatasetForUser', userId, {
    client: { name: 'org.tidepool.uploader', version: '2.60.0' },
    dataSetType: 'normal',
    deviceId,
    deviceManufacturers: ['Dexcom'],
    deviceModel: 'G6',
    deviceTags: ['cgm'],
    time: new Date().toISOString(),
    timezoneOffset: 0,
  });
  const added = await call(person.api, 'addDataToDataset', created.data.uploadId, day(deviceId, mgdl));
  await call(person.api, 'finalizeDataset', created.data.uploadId);
  return { created, added };
}

async function main() {
  const out = {};
  const ann = await signedIn(ANN);
  out.login = { userid: ann.login.userid, user: ann.login.user, token: Boolean(ann.store.getItem('authToken')) };
  out.currentUser = await call(ann.api, 'getCurrentUser');

  // A client that starts with a remembered session refreshes it (GET /auth/login).
  const remembered = ann.store.getItem('authToken');
  const again = client(ann.store);
  out.initialize = await call(again, 'initialize');
  out.refreshed = ann.store.getItem('authToken') !== remembered;

  out.time = await call(ann.api, 'getTime');
  out.versions = await call(ann.api, 'checkUploadVersions');

  // The platform's upload: a dataset, a day of readings, closed.
  const annUpload = await upload(ann, 'DexG6-Ann', 100);
  out.createdDataset = annUpload.created;
  out.added = annUpload.added;
  out.uploadRecords = await call(ann.api, 'getUploadRecordsForDevice', ann.login.userid, 'DexG6-Ann', 1);

  // jellyfish's upload: spec/linking-events.md's wizard and its bolus, twice, in both orders.
  const [bolus, wizard] = JSON.parse(process.env.TIDEWATER_LINKED);
  out.jellyfishFirst = await call(ann.api, 'uploadDeviceDataForUser', ann.login.userid, [bolus, wizard]);
  out.jellyfishAgain = await call(ann.api, 'uploadDeviceDataForUser', ann.login.userid, [wizard, bolus]);

  // tide-whisperer's read.
  const end = new Date().toISOString();
  const start = new Date(Date.now() - 2 * 24 * HOUR).toISOString();
  out.cbg = await call(ann.api, 'getDeviceDataForUser', ann.login.userid, { type: 'cbg', startDate: start, endDate: end });
  out.linked = await call(ann.api, 'getDeviceDataForUser', ann.login.userid, { type: 'wizard,bolus' });
  out.latest = await call(ann.api, 'getDeviceDataForUser', ann.login.userid, { type: 'cbg,bolus', latest: true });
  out.byUpload = await call(ann.api, 'getDeviceDataForUser', ann.login.userid, { uploadId: annUpload.created.data.uploadId, type: 'cbg' });

  const ben = await signedIn(BEN);
  await upload(ben, 'DexG6-Ben', 220);

  // The clinic: Dr Doc creates it; Ann joins with the code that came with it, Ben with one
  // the clinic makes for him.
  const doc = await signedIn(DOC);
  out.clinic = await call(doc.api, 'createClinic', { name: 'Tidepool client clinic', preferredBgUnits: 'mmol/L' });
  const clinicId = out.clinic.id;
  const patients = `/v1/clinics/${clinicId}/patients`;
  await harness('post', `${patients}/${ann.login.userid}`, ann.store.getItem('authToken'), { shareCode: out.clinic.shareCode });
  const code = await harness('post', `/v1/clinics/${clinicId}/share_codes`, doc.store.getItem('authToken'), {});
  await harness('post', `${patients}/${ben.login.userid}`, ben.store.getItem('authToken'), { shareCode: code.data.shareCode });
  await harness('post', '/_local/invoke/summarize', doc.store.getItem('authToken'), {});

  out.clinicianClinics = await call(doc.api, 'getClinicsForClinician', doc.login.userid, {});
  out.patientClinics = await call(ann.api, 'getClinicsForPatient', ann.login.userid, {});
  out.patient = await call(doc.api, 'getPatientFromClinic', clinicId, ann.login.userid);
  out.byMeanDescending = await call(doc.api, 'getPatientsForClinic', clinicId, {
    period: '1d', sort: '-averageGlucoseMmol', sortType: 'cgm', offset: 0, limit: 10,
  });
  out.byMeanAscending = await call(doc.api, 'getPatientsForClinic', clinicId, {
    period: '1d', sort: '+averageGlucoseMmol', sortType: 'cgm', offset: 0, limit: 10,
  });
  out.secondPage = await call(doc.api, 'getPatientsForClinic', clinicId, {
    period: '1d', sort: '-averageGlucoseMmol', sortType: 'cgm', offset: 1, limit: 1,
  });
  out.filtered = await call(doc.api, 'getPatientsForClinic', clinicId, {
    period: '1d', 'cgm.timeInAnyHighPercent': '>0.25', sort: '+fullName',
  });
  out.searched = await call(doc.api, 'getPatientsForClinic', clinicId, { search: 'ben', period: '1d' });
  out.tide = await call(doc.api, 'getPatientsForTideDashboard', clinicId, {
    period: '1d', tags: [], lastDataCutoff: new Date(Date.now() - 7 * 24 * HOUR).toISOString(),
  });

  const last = ann.store.getItem('authToken');
  out.logout = await call(ann.api, 'logout');
  out.loggedInAfterLogout = ann.api.isLoggedIn();
  // The server ended the session too: its tokens are refused, the remembered one as well.
  out.afterLogout = await Promise.all([last, remembered].map((token) => superagent
    .get(URL + '/auth/user').set('x-tidepool-session-token', token)
    .then((answer) => answer.status, (error) => error.status)));
  // A file, not stdout: process.exit does not wait for a pipe to drain.
  fs.writeFileSync(process.env.TIDEWATER_OUT, JSON.stringify(out));
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error.stack || error}\n`);
    process.exit(1);
  },
);
