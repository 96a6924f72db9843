//! One training at a time owns a saved run (`crate::experiment::saved_runs`): the same link open in two tabs
//! trains the same config twice, and both would write the same file. A training owns its file
//! through a Web Lock (the Web Locks API, shared by every tab and worker of the origin), held
//! until its worker ends: the browser releases a terminated worker's locks, so a closed tab or a
//! dead worker hands the run on.

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Takes the lock `name` if no one holds it, and then holds it for the rest of this worker's
/// life: `Ok(true)`. `Ok(false)`: another tab or worker holds it. A browser without the Web
/// Locks API cannot tell, and gets `Ok(true)` (it saves, as it did before locks).
pub async fn hold(name: &str) -> Result<bool, String> {
    let describe = |e: JsValue| super::fetch::describe(&e);
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).map_err(describe)?;
    let locks = Reflect::get(&navigator, &"locks".into()).map_err(describe)?;
    let Ok(request) = Reflect::get(&locks, &"request".into())
        .map_err(describe)?
        .dyn_into::<Function>()
    else {
        return Ok(true);
    };
    let options = Object::new();
    Reflect::set(&options, &"ifAvailable".into(), &true.into()).map_err(describe)?;
    let mut resolve = None;
    let granted = Promise::new(&mut |ok, _| resolve = Some(ok));
    let resolve = resolve.expect("a Promise calls its executor at once");
    // Called once, with the lock or (when someone else holds it) null. Holding means returning
    // a promise that never settles.
    let callback = Closure::once_into_js(move |lock: JsValue| -> JsValue {
        let got = !lock.is_null();
        let _ = resolve.call1(&JsValue::UNDEFINED, &got.into());
        if got {
            Promise::new(&mut |_, _| {}).into()
        } else {
            JsValue::UNDEFINED
        }
    });
    request
        .call3(&locks, &name.into(), &options, &callback)
        .map_err(describe)?;
    Ok(JsFuture::from(granted).await.map_err(describe)?.is_truthy())
}
