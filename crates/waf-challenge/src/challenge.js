(function () {
  "use strict";
  var el = document.getElementById("pcw");
  var msg = document.getElementById("pcw-msg");
  var nonce = el.getAttribute("data-nonce");
  var bits = parseInt(el.getAttribute("data-bits"), 10);
  var puzzle = el.getAttribute("data-puzzle");
  var action = el.getAttribute("data-action");
  var subtle = window.crypto && window.crypto.subtle;

  function enough(h) {
    var n = bits, i = 0;
    for (; n >= 8; n -= 8, i++) { if (h[i] !== 0) { return false; } }
    return n === 0 || (h[i] >> (8 - n)) === 0;
  }
  function utf8(s) { return new TextEncoder().encode(s); }

  // SHA-256 in plain script for pages served over http://, where browsers hide crypto.subtle.
  var K = [], H0 = [];
  (function () {
    var n = 2, c = 0, d, prime;
    while (c < 64) {
      prime = true;
      for (d = 2; d * d <= n; d++) { if (n % d === 0) { prime = false; break; } }
      if (prime) {
        if (c < 8) { H0[c] = (Math.pow(n, 1 / 2) % 1) * 4294967296 | 0; }
        K[c] = (Math.pow(n, 1 / 3) % 1) * 4294967296 | 0;
        c++;
      }
      n++;
    }
  })();
  function soft(bytes) {
    var l = bytes.length, nb = ((l + 9 + 63) >> 6) << 6, bl = l * 8;
    var m = new Uint8Array(nb), h = H0.slice(), w = new Array(64), i, o;
    m.set(bytes);
    m[l] = 0x80;
    m[nb - 4] = bl >>> 24; m[nb - 3] = bl >>> 16 & 255; m[nb - 2] = bl >>> 8 & 255; m[nb - 1] = bl & 255;
    for (o = 0; o < nb; o += 64) {
      for (i = 0; i < 16; i++) {
        w[i] = m[o + 4 * i] << 24 | m[o + 4 * i + 1] << 16 | m[o + 4 * i + 2] << 8 | m[o + 4 * i + 3];
      }
      for (i = 16; i < 64; i++) {
        var a = w[i - 15], b = w[i - 2];
        var s0 = (a >>> 7 | a << 25) ^ (a >>> 18 | a << 14) ^ (a >>> 3);
        var s1 = (b >>> 17 | b << 15) ^ (b >>> 19 | b << 13) ^ (b >>> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1 | 0;
      }
      var A = h[0], B = h[1], C = h[2], D = h[3], E = h[4], F = h[5], G = h[6], H = h[7];
      for (i = 0; i < 64; i++) {
        var t1 = H + ((E >>> 6 | E << 26) ^ (E >>> 11 | E << 21) ^ (E >>> 25 | E << 7)) + (E & F ^ ~E & G) + K[i] + w[i] | 0;
        var t2 = ((A >>> 2 | A << 30) ^ (A >>> 13 | A << 19) ^ (A >>> 22 | A << 10)) + (A & B ^ A & C ^ B & C) | 0;
        H = G; G = F; F = E; E = D + t1 | 0; D = C; C = B; B = A; A = t1 + t2 | 0;
      }
      h[0] = h[0] + A | 0; h[1] = h[1] + B | 0; h[2] = h[2] + C | 0; h[3] = h[3] + D | 0;
      h[4] = h[4] + E | 0; h[5] = h[5] + F | 0; h[6] = h[6] + G | 0; h[7] = h[7] + H | 0;
    }
    var out = new Uint8Array(32);
    for (i = 0; i < 8; i++) {
      out[4 * i] = h[i] >>> 24; out[4 * i + 1] = h[i] >>> 16 & 255;
      out[4 * i + 2] = h[i] >>> 8 & 255; out[4 * i + 3] = h[i] & 255;
    }
    return out;
  }

  async function solve() {
    var c = 0, j;
    for (;;) {
      if (subtle) {
        var batch = [];
        for (j = 0; j < 64; j++) { batch.push(subtle.digest("SHA-256", utf8(nonce + (c + j)))); }
        var hs = await Promise.all(batch);
        for (j = 0; j < 64; j++) { if (enough(new Uint8Array(hs[j]))) { return c + j; } }
        c += 64;
      } else {
        for (j = 0; j < 4096; j++, c++) { if (enough(soft(utf8(nonce + c)))) { return c; } }
        await new Promise(function (r) { setTimeout(r, 0); });
      }
    }
  }

  solve().then(function (c) {
    return fetch(action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "puzzle=" + encodeURIComponent(puzzle) + "&counter=" + c
    });
  }).then(function (r) {
    if (!r.ok) { throw new Error("status " + r.status); }
    return r.json();
  }).then(function (j) {
    window.location.replace(j.location);
  }).catch(function (e) {
    msg.textContent = "Verification failed (" + e.message + "). Reload the page to try again.";
  });
})();
