/* The studio of openai-image-mcp: viewer, gallery and mask painter, in plain JS (no framework, nothing fetched).
 *
 * Two transports, chosen at load:
 *  - host mode (inside an iframe): the MCP Apps protocol, JSON-RPC over postMessage with the host
 *    (ui/initialize, then the host's tool-input / tool-result notifications; tools/call and resources/read are
 *    relayed by the host to the server; ui/message asks the model for the next step);
 *  - direct mode (a top-level page served by `openai-image-mcp studio` or /studio): POST {method, params} to
 *    "api" beside the page with the bearer token from #token=... (kept in sessionStorage), answered with
 *    {result} or {error: {code, message}}. There is no model: the "ask" buttons become "Copy prompt".
 * Pixels: an image up to FULL_MAX bytes is read whole from its resource; a larger one as the server's
 * downscaled WebP copy. The painted mask goes back as a PNG (transparent = change) at the image's size, or
 * downscaled to MASK_MAX_SIDE on its longest side when the image is larger.
 */
(function () {
  "use strict";

  var FULL_MAX = 3145728; // bytes; tools/studio.py FULL_MAX_BYTES
  var MASK_MAX_SIDE = 2048;
  var PAGE = 12;
  var PROTOCOL = "2026-01-26";
  var TOKEN_KEY = "oim-studio-token";

  var mode = window.parent !== window ? "host" : "direct";
  var $ = function (id) { return document.getElementById(id); };
  var state = {
    view: null, hostContext: {}, current: null, thread: null, sessionId: null,
    g: { offset: 0, total: 0, filters: {}, loaded: false, items: [], pick: null },
    lastMask: null, lastEdit: null, errors: []
  };
  var readyResolve;
  var ready = new Promise(function (resolve) { readyResolve = resolve; });

  // ---- small helpers ------------------------------------------------------------------------------------------
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text != null) node.textContent = String(text);
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function status(text, isError) {
    var s = $("status");
    s.textContent = text || "";
    s.classList.toggle("error", !!isError);
    if (isError) state.errors.push(String(text));
  }
  function shortDate(iso) { return iso ? iso.replace("T", " ").replace(/(:\d\d)?(\+00:00|Z)$/, "") : ""; }
  function usd(cost) {
    if (cost == null) return null;
    var v = typeof cost === "number" ? cost : cost.usd;
    return typeof v === "number" ? "$" + v.toFixed(v < 0.1 ? 4 : 2) : null;
  }

  // ---- transports ---------------------------------------------------------------------------------------------
  function StudioError(message, code) { this.message = message; this.code = code; this.name = "StudioError"; }
  StudioError.prototype = Object.create(Error.prototype);

  function hostTransport() {
    var next = 1, pending = {}, handlers = {};
    window.addEventListener("message", function (event) {
      if (event.source !== window.parent) return;
      var msg = event.data;
      if (!msg || msg.jsonrpc !== "2.0") return;
      if (msg.method && msg.id != null) { // a request from the host
        var answer = { jsonrpc: "2.0", id: msg.id };
        if (msg.method === "ui/resource-teardown" || msg.method === "ping") answer.result = {};
        else answer.error = { code: -32601, message: "Method not found: " + msg.method };
        window.parent.postMessage(answer, "*");
        return;
      }
      if (msg.method) { if (handlers[msg.method]) handlers[msg.method](msg.params || {}); return; }
      var waiter = pending[msg.id];
      if (!waiter) return;
      delete pending[msg.id];
      if (msg.error) waiter.reject(new StudioError(msg.error.message || "The host declined.", msg.error.code));
      else waiter.resolve(msg.result || {});
    });
    return {
      request: function (method, params) {
        var id = next++;
        return new Promise(function (resolve, reject) {
          pending[id] = { resolve: resolve, reject: reject };
          window.parent.postMessage({ jsonrpc: "2.0", id: id, method: method, params: params || {} }, "*");
        });
      },
      notify: function (method, params) {
        window.parent.postMessage({ jsonrpc: "2.0", method: method, params: params || {} }, "*");
      },
      on: function (method, fn) { handlers[method] = fn; }
    };
  }

  function directTransport() {
    var token = null;
    var m = /(?:^#|&)token=([^&]+)/.exec(location.hash || "");
    if (m) {
      token = decodeURIComponent(m[1]);
      try { sessionStorage.setItem(TOKEN_KEY, token); } catch (e) { /* storage off: keep it in memory */ }
      history.replaceState(null, "", location.pathname + location.search);
    } else {
      try { token = sessionStorage.getItem(TOKEN_KEY); } catch (e) { token = null; }
    }
    var waitingForToken = null;
    function askToken() {
      if (!waitingForToken) {
        waitingForToken = new Promise(function (resolve) {
          var form = $("signin");
          form.hidden = false;
          $("signin-token").focus();
          form.onsubmit = function (ev) {
            ev.preventDefault();
            token = $("signin-token").value.trim();
            try { sessionStorage.setItem(TOKEN_KEY, token); } catch (e) { /* memory only */ }
            form.hidden = true;
            waitingForToken = null;
            resolve();
          };
        });
      }
      return waitingForToken;
    }
    function request(method, params) {
      var headers = { "Content-Type": "application/json" };
      if (token) headers.Authorization = "Bearer " + token;
      return fetch("api", {
        method: "POST", headers: headers, body: JSON.stringify({ method: method, params: params || {} }),
        credentials: "same-origin", cache: "no-store"
      }).then(function (resp) {
        if (resp.status === 401) return askToken().then(function () { return request(method, params); });
        return resp.json().catch(function () { return { error: { code: resp.status, message: resp.statusText } }; })
          .then(function (body) {
            if (body && body.error) throw new StudioError(body.error.message || "Request failed", body.error.code);
            if (!resp.ok) throw new StudioError("HTTP " + resp.status, resp.status);
            return (body && body.result) || {};
          });
      });
    }
    return { request: request, notify: function () {}, on: function () {} };
  }

  var rpc = mode === "host" ? hostTransport() : directTransport();

  function callTool(name, args) {
    return rpc.request("tools/call", { name: name, arguments: args || {} }).then(function (res) {
      var sc = res.structuredContent || {};
      if (res.isError) {
        var text = sc.error || ((res.content || []).filter(function (c) { return c.type === "text"; })[0] || {}).text;
        throw new StudioError(text || name + " failed", sc.error_type);
      }
      return sc;
    });
  }
  function readDataUrl(uri) {
    return rpc.request("resources/read", { uri: uri }).then(function (res) {
      var c = (res.contents || [])[0];
      if (!c || !c.blob) throw new StudioError("No image at " + uri);
      return "data:" + (c.mimeType || "image/png") + ";base64," + c.blob;
    });
  }
  function pixelsUri(img) {
    if (img.pixels_uri) return img.pixels_uri;
    return img.file_size_bytes > FULL_MAX ? "openai-image://studio/display/" + img.image_id : img.resource_uri;
  }
  var thumbCache = {}, thumbQueue = [], thumbActive = 0;
  function loadThumb(imgNode, id) {
    if (thumbCache[id]) { imgNode.src = thumbCache[id]; return; }
    thumbQueue.push([imgNode, id]);
    pumpThumbs();
  }
  function pumpThumbs() {
    while (thumbActive < 4 && thumbQueue.length) {
      var job = thumbQueue.shift();
      thumbActive++;
      (function (node, id) {
        readDataUrl("openai-image://studio/thumb/" + id).then(function (url) {
          thumbCache[id] = url; node.src = url;
        }, function () { node.alt = "(no preview)"; }).then(function () { thumbActive--; pumpThumbs(); });
      })(job[0], job[1]);
    }
  }
  function showError(prefix, err) {
    var declined = mode === "host" && err && typeof err.code === "number" && err.code < 0;
    status((declined ? "The host declined: " : prefix + ": ") + (err && err.message ? err.message : err), true);
  }

  // ---- views --------------------------------------------------------------------------------------------------
  function show(view) {
    state.view = view;
    ["viewer", "gallery", "painter"].forEach(function (name) {
      $(name).hidden = name !== view;
      var tab = $("tab-" + name);
      if (name === view) tab.setAttribute("aria-current", "page"); else tab.removeAttribute("aria-current");
    });
    if (view === "gallery" && !state.g.loaded) loadGallery(true);
  }
  document.querySelectorAll(".tabs button").forEach(function (b) {
    b.addEventListener("click", function () { show(b.getAttribute("data-view")); });
  });

  // ---- viewer -------------------------------------------------------------------------------------------------
  var viewToken = 0;
  function openImage(img, sessionId) {
    var token = ++viewToken;
    state.current = img;
    $("v-empty").hidden = true;
    $("v-body").hidden = false;
    $("tab-painter").disabled = false;
    var node = $("v-img");
    node.removeAttribute("src");
    node.dataset.imageId = img.image_id;
    $("v-size").textContent = img.width && img.height ? img.width + "×" + img.height : "";
    renderDetails(img);
    show("viewer");
    var pixels = readDataUrl(pixelsUri(img)).then(function (url) {
      if (token === viewToken) node.src = url;
    }, function (err) { showError("Could not load the image", err); });
    callTool("studio_image", { image_id: img.image_id }).then(function (out) {
      if (token !== viewToken || !out.image) return;
      state.current = out.image;
      renderDetails(out.image);
      var sid = out.image.session_id || sessionId;
      if (sid) loadThread(sid, token);
      else if (state.strip && state.strip.some(function (i) { return i.image_id === img.image_id; })) renderStrip();
      else $("thread-box").hidden = true;
    }, function (err) {
      showError("Details unavailable", err);
      if (sessionId) loadThread(sessionId, token);
    });
    if (mode === "host") {
      var text = "The user is looking at image " + img.image_id + (img.prompt ? " (" + img.prompt.slice(0, 200) + ")" : "") + ".";
      rpc.request("ui/update-model-context", { content: [{ type: "text", text: text }] }).catch(function () {});
    }
    return pixels;
  }

  function renderDetails(img) {
    $("v-prompt").textContent = img.prompt || "(prompt not recorded)";
    $("v-revised-box").hidden = !img.revised_prompt;
    $("v-revised").textContent = img.revised_prompt || "";
    var dl = $("v-params");
    clear(dl);
    var rows = [
      ["Image", img.image_id], ["Size", img.width && img.height ? img.width + "×" + img.height : null],
      ["Model", [img.model, img.image_model].filter(Boolean).join(" / ") || null], ["Use", img.use_case],
      ["Cost", usd(img.cost)], ["Created", shortDate(img.created_at)],
      ["Session", img.session_id ? img.session_id + (img.turn ? " (turn " + img.turn + ")" : "") : null],
      ["File", img.file_size_bytes ? Math.round(img.file_size_bytes / 1024) + " KB " + (img.mime_type || "") : null]
    ];
    var params = img.parameters || {};
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      if (v != null && v !== "" && typeof v !== "object") rows.push([k.replace(/_/g, " "), String(v)]);
    });
    rows.forEach(function (r) {
      if (r[1] == null || r[1] === "") return;
      dl.appendChild(el("dt", null, r[0]));
      dl.appendChild(el("dd", null, r[1]));
    });
    var lineage = img.lineage || null, list = $("v-lineage");
    clear(list);
    if (lineage) {
      Object.keys(lineage).forEach(function (k) {
        var v = lineage[k];
        if (v == null) return;
        var li = el("li");
        li.appendChild(el("span", null, k.replace(/_/g, " ") + ": "));
        var items = Array.isArray(v) ? v : [v];
        items.forEach(function (item, i) {
          if (item && typeof item === "object" && item.image_id) {
            var b = el("button", { type: "button", class: "ghost" }, item.image_id.slice(0, 8));
            b.addEventListener("click", function () { openById(item.image_id); });
            li.appendChild(b);
          } else {
            var txt = item && typeof item === "object" ? (item.size || item.path || JSON.stringify(item)) : String(item);
            li.appendChild(el("span", null, (i ? ", " : "") + txt));
          }
        });
        list.appendChild(li);
      });
    }
    $("v-lineage-box").hidden = !list.firstChild;
  }

  function openById(id, sessionId) {
    return callTool("studio_image", { image_id: id }).then(function (out) {
      if (out.image) return openImage(out.image, sessionId);
    }, function (err) { showError("Could not open the image", err); });
  }

  function loadThread(sessionId, token) {
    state.sessionId = sessionId;
    return callTool("studio_thread", { session_id: sessionId }).then(function (out) {
      if (token != null && token !== viewToken) return;
      state.thread = out;
      renderThread(out);
    }, function (err) { showError("The session is unavailable", err); });
  }

  function renderThread(out) {
    var box = $("thread-box"), list = $("thread");
    clear(list);
    var s = out.session || {};
    $("t-title").textContent = "Session " + (s.session_name || s.session_id || "");
    var bits = [(out.turns || []).length + " turns", s.status];
    if (out.total_cost_usd != null) bits.push(usd(out.total_cost_usd) + " in all");
    $("t-summary").textContent = bits.filter(Boolean).join(" · ") + (s.description ? " — " + s.description : "");
    var byId = {};
    (out.images || []).forEach(function (i) { byId[i.image_id] = i; });
    var currentId = state.current && state.current.image_id;
    (out.turns || []).forEach(function (t) {
      var li = el("li", { class: "turn", "data-turn": String(t.turn) });
      li.appendChild(el("span", { class: "seq" }, "#" + t.turn));
      var body = el("div");
      body.appendChild(el("div", { class: "prompt" }, t.prompt));
      var meta = [t.status, shortDate(t.created_at), usd(t.cost_usd)].filter(Boolean).join(" · ");
      body.appendChild(el("div", { class: "meta" }, meta + (t.error ? " — " + t.error : "")));
      var thumbs = el("div", { class: "thumbs" });
      (t.image_ids || []).forEach(function (id) {
        var b = el("button", { type: "button", class: "thumb" + (id === currentId ? " on" : ""), "data-image-id": id, title: "Show this image" });
        var im = el("img", { alt: "Turn " + t.turn });
        b.appendChild(im);
        loadThumb(im, id);
        b.addEventListener("click", function () {
          if (byId[id]) openImage(byId[id], out.session && out.session.session_id); else openById(id);
        });
        thumbs.appendChild(b);
        if (id === currentId) li.classList.add("current");
      });
      body.appendChild(thumbs);
      li.appendChild(body);
      list.appendChild(li);
    });
    box.hidden = false;
  }

  // Several images of one result outside a session (a product batch, a contact sheet): one strip of them.
  function renderStrip() {
    var imgs = state.strip || [];
    renderThread({
      session: { session_name: "this result" }, images: imgs,
      turns: [{ turn: 1, prompt: imgs.length + " images", status: "", image_ids: imgs.map(function (i) { return i.image_id; }) }]
    });
    $("t-summary").textContent = imgs.length + " images of one call";
  }

  function askModel(kind) {
    var img = state.current;
    if (!img) return;
    var note = $("v-note").value.trim();
    var where = img.session_id ? " (session " + img.session_id + ")" : "";
    var text;
    if (kind === "refine") {
      text = img.session_id
        ? "Refine the latest image of session " + img.session_id + " with generate_image_in_session: " + (note || "keep what works and improve the details.")
        : "Refine image " + img.image_id + ": " + (note || "keep what works and improve the details.");
    } else if (kind === "vary") {
      text = "Make a variation of image " + img.image_id + where + ": same subject, a different take" + (note ? " — " + note : ".") +
        (img.prompt ? "\nIts prompt was: " + img.prompt : "");
    } else {
      text = "Edit image " + img.image_id + " with edit_image: " + (note || "(say what to change)");
    }
    status("Asking the model…");
    return rpc.request("ui/message", { role: "user", content: [{ type: "text", text: text }] }).then(function () {
      status("Sent to the conversation.");
      $("v-note").value = "";
    }, function (err) { showError("Could not ask the model", err); });
  }
  document.querySelectorAll("[data-ask]").forEach(function (b) {
    b.addEventListener("click", function () { askModel(b.getAttribute("data-ask")); });
  });
  $("v-copy").addEventListener("click", function () {
    var img = state.current;
    if (!img) return;
    var text = img.prompt || img.revised_prompt || "";
    var done = function () { status("Prompt copied."); };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () { status("Copy blocked: select the prompt and copy it."); });
    } else { status("Select the prompt and copy it."); }
  });
  $("v-paint").addEventListener("click", function () { if (state.current) openPainter(state.current); });

  // ---- tool results from the host -----------------------------------------------------------------------------
  function onToolResult(result) {
    var sc = (result && result.structuredContent) || {};
    if (result && result.isError) { status("The tool failed: " + (sc.error || "see the conversation"), true); return; }
    if (sc.status === "running" && sc.job_id) { return pollJob(sc.job_id); }
    if (Array.isArray(sc.images) && typeof sc.total === "number") { // list_images
      state.g.filters = state.toolArgs ? pickFilters(state.toolArgs) : {};
      fillFilters(state.g.filters);
      renderGallery(sc);
      state.g.loaded = true;
      show("gallery");
      return;
    }
    if (sc.session && Array.isArray(sc.turns)) { // get_session_status
      var imgs = sc.images || [];
      if (imgs.length) openImage(imgs[imgs.length - 1], sc.session.session_id);
      else { state.thread = sc; $("v-empty").hidden = true; $("v-body").hidden = false; renderThread(sc); show("viewer"); }
      return;
    }
    if (sc.seed_image) return openImage(sc.seed_image, sc.session && sc.session.session_id);
    var first = (sc.images || [])[0];
    state.strip = !sc.session_id && (sc.images || []).length > 1 ? sc.images : null;
    if (first) {
      if (!first.revised_prompt && sc.revised_prompt) first.revised_prompt = sc.revised_prompt;
      return openImage(first, sc.session_id);
    }
    if (sc.session && sc.session.session_id) { loadThread(sc.session.session_id); show("viewer"); }
  }
  function pollJob(jobId) {
    status("Drawing… (job " + jobId.slice(0, 8) + ")");
    return callTool("get_generation_result", { job_id: jobId, wait_seconds: 20 }).then(function (sc) {
      if (sc.status === "running") return pollJob(jobId);
      status("");
      return onToolResult({ structuredContent: sc });
    }, function (err) { showError("The generation failed", err); });
  }
  function pickFilters(args) {
    var f = {};
    ["text", "session_id", "use_case", "since", "until"].forEach(function (k) { if (args[k]) f[k] = args[k]; });
    return f;
  }

  // ---- gallery ------------------------------------------------------------------------------------------------
  function fillFilters(f) {
    $("g-text").value = f.text || "";
    ensureSessionOption(f.session_id);
    $("g-session").value = f.session_id || "";
    $("g-thread").hidden = !f.session_id;
    $("g-usecase").value = f.use_case || "";
    $("g-since").value = (f.since || "").slice(0, 10);
    $("g-until").value = f.until_day || "";
  }
  function ensureSessionOption(id, label) {
    if (!id) return;
    var sel = $("g-session");
    for (var i = 0; i < sel.options.length; i++) if (sel.options[i].value === id) return;
    sel.appendChild(el("option", { value: id }, label || id));
  }
  function readFilters() {
    var f = {};
    var text = $("g-text").value.trim();
    if (text) f.text = text;
    if ($("g-session").value) f.session_id = $("g-session").value;
    if ($("g-usecase").value) f.use_case = $("g-usecase").value;
    if ($("g-since").value) f.since = $("g-since").value;
    if ($("g-until").value) { // the day given is included: until is exclusive, so the next day
      var d = new Date($("g-until").value + "T00:00:00Z");
      d.setUTCDate(d.getUTCDate() + 1);
      f.until = d.toISOString().slice(0, 10);
      f.until_day = $("g-until").value;
    }
    return f;
  }
  function loadGallery(withSessions) {
    var f = state.g.filters, args = { limit: PAGE, offset: state.g.offset, with_sessions: !!withSessions };
    ["text", "session_id", "use_case", "since", "until"].forEach(function (k) { if (f[k]) args[k] = f[k]; });
    status("Loading images…");
    state.g.loaded = true;
    return callTool("studio_gallery", args).then(function (out) {
      status("");
      (out.sessions || []).forEach(function (s) {
        ensureSessionOption(s.session_id, (s.name || s.description || s.session_id).slice(0, 40) + " (" + s.image_count + ")");
      });
      renderGallery(out);
    }, function (err) { state.g.loaded = false; showError("The gallery is unavailable", err); });
  }
  function renderGallery(out) {
    var grid = $("g-grid");
    clear(grid);
    var items = out.images || [];
    state.g.items = items;
    state.g.total = out.total || 0;
    state.g.offset = out.offset || 0;
    items.forEach(function (img) {
      var card = el("button", { type: "button", class: "card", "data-image-id": img.image_id, title: img.prompt || "" });
      var pic = el("div", { class: "pic" });
      var im = el("img", { alt: (img.prompt || "image").slice(0, 80) });
      pic.appendChild(im);
      loadThumb(im, img.image_id);
      card.appendChild(pic);
      card.appendChild(el("span", { class: "cap" }, img.prompt || "(no prompt)"));
      card.appendChild(el("span", { class: "when" }, shortDate(img.created_at) + " · " + (img.use_case || "")));
      card.addEventListener("click", function () { previewImage(img); });
      grid.appendChild(card);
    });
    $("g-empty").hidden = items.length > 0;
    var start = items.length ? state.g.offset + 1 : 0;
    $("g-page").textContent = start + "–" + (state.g.offset + items.length) + " of " + state.g.total;
    $("g-prev").disabled = state.g.offset <= 0;
    $("g-next").disabled = out.next_offset == null;
  }
  // Sandboxed frames may not submit forms (no allow-forms): buttons and Enter do the work, never a submit.
  function onEnter(form, action) {
    form.addEventListener("submit", function (ev) { ev.preventDefault(); });
    form.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && ev.target.tagName === "INPUT") { ev.preventDefault(); action(); }
    });
  }
  function search() {
    state.g.filters = readFilters();
    state.g.offset = 0;
    loadGallery(false);
  }
  $("g-search").addEventListener("click", search);
  $("g-session").addEventListener("change", function () {
    $("g-thread").hidden = !$("g-session").value;
    search();
  });
  $("g-thread").addEventListener("click", function () {
    var sid = $("g-session").value;
    if (!sid) return;
    callTool("studio_thread", { session_id: sid }).then(function (out) {
      var imgs = out.images || [];
      if (imgs.length) openImage(imgs[imgs.length - 1], sid);
      else { state.thread = out; $("v-empty").hidden = true; $("v-body").hidden = false; renderThread(out); show("viewer"); }
    }, function (err) { showError("The session is unavailable", err); });
  });
  onEnter($("g-form"), search);
  $("g-prev").addEventListener("click", function () {
    state.g.offset = Math.max(0, state.g.offset - PAGE);
    loadGallery(false);
  });
  $("g-next").addEventListener("click", function () {
    state.g.offset = state.g.offset + Math.max(PAGE, state.g.items.length);
    loadGallery(false);
  });
  function previewImage(img) {
    state.g.pick = img;
    var node = $("g-preview-img");
    node.removeAttribute("src");
    node.dataset.imageId = img.image_id;
    $("g-preview-text").textContent = (img.prompt || "") + (img.width ? " — " + img.width + "×" + img.height : "");
    $("g-preview").hidden = false;
    readDataUrl(pixelsUri(img)).then(function (url) {
      if (state.g.pick === img) node.src = url;
    }, function (err) { showError("Could not load the image", err); });
  }
  $("g-close").addEventListener("click", function () { $("g-preview").hidden = true; });
  $("g-preview").addEventListener("click", function (ev) { if (ev.target === $("g-preview")) $("g-preview").hidden = true; });
  $("g-open").addEventListener("click", function () {
    $("g-preview").hidden = true;
    if (state.g.pick) openImage(state.g.pick, state.g.pick.session_id);
  });
  $("g-paint").addEventListener("click", function () {
    $("g-preview").hidden = true;
    if (state.g.pick) { state.current = state.g.pick; $("tab-painter").disabled = false; openPainter(state.g.pick); }
  });

  // ---- mask painter -------------------------------------------------------------------------------------------
  var P = { img: null, tool: "brush", erase: false, drawing: false, last: null, start: null, painted: false };
  var canvas = $("p-canvas"), ctx = canvas.getContext("2d");
  function openPainter(img) {
    P.img = img;
    var w = img.width || 1024, h = img.height || 1024;
    canvas.width = w; canvas.height = h;
    ctx.clearRect(0, 0, w, h);
    P.painted = false;
    $("p-cover").textContent = "";
    $("p-result").hidden = true;
    $("p-session-label").hidden = !img.session_id;
    $("p-session").checked = false;
    var node = $("p-img");
    node.removeAttribute("src");
    node.dataset.imageId = img.image_id;
    show("painter");
    return readDataUrl(pixelsUri(img)).then(function (url) {
      if (P.img === img) { node.src = url; $("p-before").src = url; }
    }, function (err) { showError("Could not load the image", err); });
  }
  function setTool(tool) {
    if (tool === "erase") { P.erase = !P.erase; }
    else { P.tool = tool; }
    [["p-brush", P.tool === "brush"], ["p-rect", P.tool === "rect"], ["p-erase", P.erase]].forEach(function (pair) {
      $(pair[0]).classList.toggle("on", pair[1]);
      $(pair[0]).setAttribute("aria-pressed", String(pair[1]));
    });
  }
  $("p-brush").addEventListener("click", function () { setTool("brush"); });
  $("p-rect").addEventListener("click", function () { setTool("rect"); });
  $("p-erase").addEventListener("click", function () { setTool("erase"); });
  $("p-clear").addEventListener("click", function () {
    ctx.clearRect(0, 0, canvas.width, canvas.height); P.painted = false; $("p-cover").textContent = "";
  });
  function point(ev) {
    var r = canvas.getBoundingClientRect();
    return { x: (ev.clientX - r.left) * canvas.width / r.width, y: (ev.clientY - r.top) * canvas.height / r.height };
  }
  function brushWidth() { return Math.max(2, Math.max(canvas.width, canvas.height) * Number($("p-size").value) / 200); }
  function style() {
    ctx.globalCompositeOperation = P.erase ? "destination-out" : "source-over";
    ctx.strokeStyle = ctx.fillStyle = "rgb(255, 0, 90)";
    ctx.lineWidth = brushWidth();
    ctx.lineCap = ctx.lineJoin = "round";
  }
  function dab(a, b) {
    style();
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x + 0.01, b.y);
    ctx.stroke();
    if (!P.erase) P.painted = true;
  }
  canvas.addEventListener("pointerdown", function (ev) {
    if (ev.button !== 0) return;
    ev.preventDefault();
    try { canvas.setPointerCapture(ev.pointerId); } catch (e) { /* synthetic pointer */ }
    P.drawing = true;
    var p = point(ev);
    P.start = P.last = p;
    if (P.tool === "brush") dab(p, p);
    else updateRect(p);
  });
  canvas.addEventListener("pointermove", function (ev) {
    if (!P.drawing) return;
    var p = point(ev);
    if (P.tool === "brush") { dab(P.last, p); P.last = p; } else updateRect(p);
  });
  function endStroke(ev) {
    if (!P.drawing) return;
    P.drawing = false;
    if (P.tool === "rect") {
      var p = point(ev), s = P.start;
      var x = Math.min(s.x, p.x), y = Math.min(s.y, p.y), w = Math.abs(p.x - s.x), h = Math.abs(p.y - s.y);
      $("p-rect-box").hidden = true;
      if (w >= 1 && h >= 1) {
        style();
        if (P.erase) ctx.clearRect(x, y, w, h); else { ctx.fillRect(x, y, w, h); P.painted = true; }
      }
    }
    coverage();
  }
  canvas.addEventListener("pointerup", endStroke);
  canvas.addEventListener("pointercancel", endStroke);
  function updateRect(p) {
    var s = P.start, box = $("p-rect-box"), r = canvas.getBoundingClientRect();
    var kx = r.width / canvas.width, ky = r.height / canvas.height;
    box.style.left = Math.min(s.x, p.x) * kx + "px";
    box.style.top = Math.min(s.y, p.y) * ky + "px";
    box.style.width = Math.abs(p.x - s.x) * kx + "px";
    box.style.height = Math.abs(p.y - s.y) * ky + "px";
    box.hidden = false;
  }
  function coverage() {
    var small = document.createElement("canvas");
    small.width = 128; small.height = Math.max(1, Math.round(128 * canvas.height / canvas.width));
    var sctx = small.getContext("2d");
    sctx.drawImage(canvas, 0, 0, small.width, small.height);
    var data = sctx.getImageData(0, 0, small.width, small.height).data, on = 0;
    for (var i = 3; i < data.length; i += 4) if (data[i] > 127) on++;
    var share = on / (small.width * small.height);
    P.painted = share > 0;
    $("p-cover").textContent = share ? Math.max(0.1, Math.round(share * 1000) / 10) + "% to change" : "";
    return share;
  }
  // The mask: transparent where painted (change), opaque black elsewhere (keep); the image's size, downscaled
  // to MASK_MAX_SIDE on its longest side when larger (the server scales it back).
  function buildMask() {
    var w = canvas.width, h = canvas.height, k = Math.min(1, MASK_MAX_SIDE / Math.max(w, h));
    var mask = document.createElement("canvas");
    mask.width = Math.max(1, Math.round(w * k)); mask.height = Math.max(1, Math.round(h * k));
    var m = mask.getContext("2d");
    m.fillStyle = "#000";
    m.fillRect(0, 0, mask.width, mask.height);
    m.globalCompositeOperation = "destination-out";
    m.drawImage(canvas, 0, 0, mask.width, mask.height);
    var url = mask.toDataURL("image/png");
    state.lastMask = { width: mask.width, height: mask.height, bytes: Math.round((url.length - 22) * 3 / 4), dataUrl: url };
    return url;
  }
  onEnter($("p-form"), function () {});
  $("p-submit").addEventListener("click", function () {
    var img = P.img, prompt = $("p-prompt").value.trim();
    if (!img) return;
    if (!prompt) { status("Type what to do inside the mask.", true); return; }
    if (!P.painted || !coverage()) { status("Paint the area to change first.", true); return; }
    var url = buildMask();
    var args = { image_id: img.image_id, prompt: prompt, mask_png: url.slice(url.indexOf(",") + 1) };
    if ($("p-session").checked && img.session_id) args.session_id = img.session_id;
    $("p-submit").disabled = true;
    status("Editing inside the mask…");
    var done = function (sc) {
      if (sc.status === "running" && sc.job_id) {
        return callTool("get_generation_result", { job_id: sc.job_id, wait_seconds: 20 }).then(done);
      }
      state.lastEdit = sc;
      var after = (sc.images || [])[0];
      if (!after) throw new StudioError("The edit returned no image.");
      $("p-result").hidden = false;
      $("p-after").dataset.imageId = after.image_id;
      status("Edited: " + after.image_id.slice(0, 8) + (sc.cost && usd(sc.cost) ? " · " + usd(sc.cost) : ""));
      return readDataUrl(pixelsUri(after)).then(function (u) { $("p-after").src = u; });
    };
    state.editing = callTool("studio_mask_edit", args).then(done).catch(function (err) {
      showError("The edit failed", err);
    }).then(function () { $("p-submit").disabled = false; });
  });

  // ---- start --------------------------------------------------------------------------------------------------
  function applyHostContext(hc) {
    if (!hc) return;
    Object.keys(hc).forEach(function (k) { state.hostContext[k] = hc[k]; });
    var theme = state.hostContext.theme;
    if (theme) document.documentElement.setAttribute("data-theme", theme);
    var vars = state.hostContext.styles && state.hostContext.styles.variables;
    if (vars) Object.keys(vars).forEach(function (k) { if (vars[k]) document.documentElement.style.setProperty(k, vars[k]); });
    var modes = state.hostContext.availableDisplayModes || [];
    $("fullscreen").hidden = modes.indexOf("fullscreen") < 0;
  }
  $("fullscreen").addEventListener("click", function () {
    var want = state.hostContext.displayMode === "fullscreen" ? "inline" : "fullscreen";
    rpc.request("ui/request-display-mode", { mode: want }).then(function (r) {
      applyHostContext({ displayMode: r.mode || want });
      $("fullscreen").textContent = (r.mode || want) === "fullscreen" ? "Exit full screen" : "Full screen";
    }, function (err) { showError("Full screen unavailable", err); });
  });

  function startHost() {
    rpc.on("ui/notifications/tool-input", function (p) { state.toolArgs = p.arguments || {}; status("Working…"); });
    rpc.on("ui/notifications/tool-input-partial", function () {});
    rpc.on("ui/notifications/tool-result", function (p) {
      status("");
      try { onToolResult(p); } catch (e) { showError("Could not show the result", e); }
    });
    rpc.on("ui/notifications/tool-cancelled", function (p) { status("Cancelled" + (p.reason ? ": " + p.reason : "."), true); });
    rpc.on("ui/notifications/host-context-changed", applyHostContext);
    show("viewer");
    return rpc.request("ui/initialize", {
      protocolVersion: PROTOCOL,
      appInfo: { name: "openai-image-mcp studio", version: "1" },
      appCapabilities: { availableDisplayModes: ["inline", "fullscreen"] }
    }).then(function (init) {
      applyHostContext(init.hostContext || {});
      rpc.notify("ui/notifications/initialized", {});
      if (typeof ResizeObserver === "function") {
        var last = "", timer = null;
        new ResizeObserver(function () {
          clearTimeout(timer);
          timer = setTimeout(function () {
            var w = document.documentElement.scrollWidth, h = document.documentElement.scrollHeight;
            if (w + "x" + h === last) return;
            last = w + "x" + h;
            rpc.notify("ui/notifications/size-changed", { width: w, height: h });
          }, 60);
        }).observe(document.documentElement);
      }
    }, function (err) { showError("The host did not answer ui/initialize", err); });
  }
  function startDirect() {
    document.querySelectorAll("[data-ask]").forEach(function (b) { b.hidden = true; });
    $("v-note").parentNode.querySelector("label").hidden = true;
    $("v-note").hidden = true;
    $("v-copy").hidden = false;
    show("gallery");
    return loadGallery(true);
  }

  window.oimStudio = {
    mode: mode, ready: ready, state: state,
    openImage: openImage, openPainter: openPainter, show: show, buildMask: buildMask
  };
  (mode === "host" ? startHost() : startDirect()).then(function () { readyResolve(mode); });
})();
