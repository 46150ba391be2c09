//! The `#[lambkin::handler]` attribute: turns one Rust function into a lambkin function's exports.
//!
//! Written against `proc_macro` alone (no syn): it only needs the function's name and the optional
//! `init = path` argument, and the expansion is a call to `lambkin::__export_handler!`.

use proc_macro::{TokenStream, TokenTree};

/// Exports the annotated `fn(Event, &Context) -> Result<impl Serialize, Error>` as the function's
/// handler. `#[lambkin::handler(init = setup)]` also runs `setup() -> Result<(), Error>` once per
/// execution environment, in Lambda's Init phase.
#[proc_macro_attribute]
pub fn handler(attr: TokenStream, item: TokenStream) -> TokenStream {
    let name = match function_name(item.clone()) {
        Some(name) => name,
        None => return error("#[lambkin::handler] goes on a function"),
    };
    let init = match init_argument(attr) {
        Ok(Some(path)) => format!("::core::option::Option::Some({path})"),
        Ok(None) => "::core::option::Option::None".to_string(),
        Err(message) => return error(message),
    };
    let export: TokenStream = match format!("::lambkin::__export_handler!({name}, {init});").parse() {
        Ok(tokens) => tokens,
        Err(_) => return error("#[lambkin::handler]: could not build the export"),
    };
    let mut out = item;
    out.extend(export);
    out
}

/// The identifier after the `fn` keyword.
fn function_name(item: TokenStream) -> Option<String> {
    let mut tokens = item.into_iter();
    while let Some(token) = tokens.next() {
        if let TokenTree::Ident(ident) = &token
            && ident.to_string() == "fn"
        {
            return match tokens.next() {
                Some(TokenTree::Ident(name)) => Some(name.to_string()),
                _ => None,
            };
        }
    }
    None
}

/// Parses the attribute's arguments: nothing, or `init = some::path`.
fn init_argument(attr: TokenStream) -> Result<Option<String>, &'static str> {
    let tokens: Vec<TokenTree> = attr.into_iter().collect();
    if tokens.is_empty() {
        return Ok(None);
    }
    match (tokens.first(), tokens.get(1)) {
        (Some(TokenTree::Ident(key)), Some(TokenTree::Punct(eq)))
            if key.to_string() == "init" && eq.as_char() == '=' && tokens.len() > 2 =>
        {
            Ok(Some(tokens[2..].iter().map(ToString::to_string).collect()))
        }
        _ => Err("#[lambkin::handler] takes no argument or `init = path::to::init_fn`"),
    }
}

fn error(message: &str) -> TokenStream {
    format!("::core::compile_error!({message:?});")
        .parse()
        .unwrap_or_default()
}
