// Security keys and passkeys (WebAuthn) for the second sign-in step: backoffice/security_keys.py checks what
// this sends. Each form[data-security-key] asks the server what to ask the key (data-options), asks the key
// through the browser, and posts its answer (the form's action); the server says where to go next, or why not.
"use strict";

const fromBase64url = (text) =>
  Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4)), (c) =>
    c.charCodeAt(0));
const toBase64url = (buffer) =>
  btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const withIds = (list) => (list || []).map((credential) => ({ ...credential, id: fromBase64url(credential.id) }));

// The options the server gives (base64url strings) as the browser takes them (bytes).
function publicKeyOptions(purpose, options) {
  const publicKey = { ...options, challenge: fromBase64url(options.challenge) };
  if (purpose === "add") {
    publicKey.user = { ...options.user, id: fromBase64url(options.user.id) };
    publicKey.excludeCredentials = withIds(options.excludeCredentials);
  } else {
    publicKey.allowCredentials = withIds(options.allowCredentials);
  }
  return publicKey;
}

// The key's answer as the server reads it (JSON, bytes as base64url).
function answerJSON(credential) {
  const response = {};
  for (const name of ["clientDataJSON", "attestationObject", "authenticatorData", "signature", "userHandle"]) {
    if (credential.response[name]) response[name] = toBase64url(credential.response[name]);
  }
  if (credential.response.getTransports) response.transports = credential.response.getTransports();
  return JSON.stringify({
    id: credential.id, rawId: toBase64url(credential.rawId), type: credential.type, response,
    clientExtensionResults: credential.getClientExtensionResults(),
  });
}

// What the browser's refusal means for the person at the key.
function browserRefusal(error) {
  switch (error.name) {
    case "NotAllowedError":
      return "The key was not used: the request was cancelled or timed out. Try again.";
    case "InvalidStateError":
      return "That key is already added.";
    case "SecurityError":
      return "This browser offers security keys only to a site on HTTPS opened by its name. Open the back office that way.";
    default:
      return `The browser could not use a key here: ${error.message}`;
  }
}

async function postForm(url, form) {
  const reply = await fetch(url, { method: "POST", body: new FormData(form), credentials: "same-origin" });
  let body;
  try {
    body = await reply.json();
  } catch {
    throw new Error(`The server answered HTTP ${reply.status}. Reload the page and try again.`);
  }
  if (body.error) throw new Error(body.error);
  return body;
}

async function answerWithKey(form) {
  const purpose = form.dataset.securityKey;
  const { options } = await postForm(form.dataset.options, form);
  let credential;
  try {
    const publicKey = publicKeyOptions(purpose, options);
    credential = await (purpose === "add" ? navigator.credentials.create({ publicKey })
                                          : navigator.credentials.get({ publicKey }));
  } catch (error) {
    throw new Error(browserRefusal(error));
  }
  form.elements.credential.value = answerJSON(credential);
  const { next } = await postForm(form.action, form);
  window.location.assign(next);
}

for (const form of document.querySelectorAll("form[data-security-key]")) {
  const problem = form.querySelector(".security-key-error");
  const button = form.querySelector("[type=submit]");
  if (!window.PublicKeyCredential) {
    problem.textContent = "This browser cannot use security keys.";
    problem.hidden = false;
    button.disabled = true;
    continue;
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.hidden = true;
    button.disabled = true;
    try {
      await answerWithKey(form);
    } catch (error) {
      problem.textContent = error.message;
      problem.hidden = false;
      button.disabled = false;
    }
  });
}
