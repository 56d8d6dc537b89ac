//! Following `Link: <…>; rel="next"` pages of a listing (the referrers API), bounded:
//! at most [`MAX_REFERRERS_PAGES`] pages, each link followed once (a link back to a page
//! already read is a loop, and an error), and only on the registry that was asked.

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::limits::MAX_REFERRERS_PAGES;

/// The pages of one listing read so far.
pub(crate) struct Pages {
    /// `scheme://host:port` of the registry's endpoint.
    base: reqwest::Url,
    /// Path and query of every page read (or about to be).
    seen: HashSet<String>,
    /// What is listed, for messages: "referrers of <digest> in <repo>".
    what: String,
}

impl Pages {
    /// A listing on the endpoint at `base_url` whose first page is `first` (a path).
    pub fn new(base_url: &str, first: &str, what: String) -> Result<Self> {
        let base = reqwest::Url::parse(base_url).map_err(|e| Error::Invalid {
            what: what.clone(),
            message: format!("{base_url} is not a URL: {e}"),
        })?;
        Ok(Pages {
            base,
            seen: HashSet::from([first.to_owned()]),
            what,
        })
    }

    /// The path of the page after the one read from `page_url`, from its `Link` header;
    /// `None` at the last page. A link to a page already read, to another host, or past
    /// the page limit is an error.
    pub fn next(&mut self, page_url: &str, link: Option<&str>) -> Result<Option<String>> {
        let Some(target) = link.and_then(next_link) else {
            return Ok(None);
        };
        let invalid = |message: String| Error::Invalid {
            what: self.what.clone(),
            message,
        };
        let url = reqwest::Url::parse(page_url)
            .and_then(|page| page.join(target))
            .map_err(|e| {
                invalid(format!(
                    "the Link rel=\"next\" {target:?} is not a URL: {e}"
                ))
            })?;
        if url.scheme() != self.base.scheme()
            || url.host_str() != self.base.host_str()
            || url.port_or_known_default() != self.base.port_or_known_default()
        {
            return Err(invalid(format!(
                "the Link rel=\"next\" points at {url}, not at the registry that was asked ({}); refusing to follow it to another host",
                self.base.origin().ascii_serialization()
            )));
        }
        let path = match url.query() {
            Some(q) => format!("{}?{}", url.path(), q),
            None => url.path().to_owned(),
        };
        if self.seen.contains(&path) {
            return Err(invalid(format!(
                "the Link rel=\"next\" of page {} leads back to {path}, a page already read: a pagination loop; refusing to follow it (the registry's referrers API is broken)",
                self.seen.len()
            )));
        }
        if self.seen.len() >= MAX_REFERRERS_PAGES {
            return Err(invalid(format!(
                "the registry lists more than {MAX_REFERRERS_PAGES} pages of referrers (the limit); refusing to read further: ask for one artifact type, or delete referrers that are no longer needed"
            )));
        }
        self.seen.insert(path.clone());
        Ok(Some(path))
    }
}

/// The target of the `rel="next"` link in a `Link` header, as written.
fn next_link(link: &str) -> Option<&str> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
        });
        next.then(|| url.trim().trim_start_matches('<').trim_end_matches('>'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages() -> Pages {
        Pages::new(
            "http://r.example:5000",
            "/v2/a/referrers/sha256:x",
            "referrers of x".into(),
        )
        .unwrap()
    }

    const PAGE: &str = "http://r.example:5000/v2/a/referrers/sha256:x";

    #[test]
    fn link_header() {
        assert_eq!(
            next_link(r#"</v2/a/referrers/sha256:x?n=1&last=y>; rel="next""#),
            Some("/v2/a/referrers/sha256:x?n=1&last=y")
        );
        assert_eq!(
            next_link(r#"</v2/a?p=1>; rel="prev", <https://r.example/v2/a?last=y>; rel=next"#),
            Some("https://r.example/v2/a?last=y")
        );
        assert_eq!(next_link(r#"</v2/a>; rel="prev""#), None);
    }

    #[test]
    fn relative_and_absolute_links_on_the_same_registry() {
        let mut p = pages();
        assert_eq!(
            p.next(
                PAGE,
                Some(r#"</v2/a/referrers/sha256:x?last=1>; rel="next""#)
            )
            .unwrap()
            .as_deref(),
            Some("/v2/a/referrers/sha256:x?last=1")
        );
        assert_eq!(
            p.next(
                PAGE,
                Some(r#"<http://r.example:5000/v2/a/referrers/sha256:x?last=2>; rel="next""#)
            )
            .unwrap()
            .as_deref(),
            Some("/v2/a/referrers/sha256:x?last=2")
        );
        assert_eq!(
            p.next(PAGE, Some(r#"<?last=3>; rel="next""#))
                .unwrap()
                .as_deref(),
            Some("/v2/a/referrers/sha256:x?last=3")
        );
        assert_eq!(p.next(PAGE, None).unwrap(), None);
    }

    #[test]
    fn another_host_a_loop_and_too_many_pages_are_refused() {
        let err = pages()
            .next(
                PAGE,
                Some(r#"<http://evil.example/v2/a?last=1>; rel="next""#),
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("refusing to follow it to another host"),
            "{err}"
        );
        let err = pages()
            .next(
                PAGE,
                Some(r#"<https://r.example:5000/v2/a?l=1>; rel="next""#),
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("another host"), "{err}");

        let mut p = pages();
        p.next(PAGE, Some(r#"</v2/a/referrers/sha256:x?l=1>; rel="next""#))
            .unwrap();
        let err = p
            .next(PAGE, Some(r#"</v2/a/referrers/sha256:x>; rel="next""#))
            .unwrap_err()
            .to_string();
        assert!(err.contains("a pagination loop"), "{err}");

        let mut p = pages();
        for n in 1..MAX_REFERRERS_PAGES {
            let link = format!(r#"</v2/a/referrers/sha256:x?l={n}>; rel="next""#);
            assert!(p.next(PAGE, Some(&link)).unwrap().is_some());
        }
        let err = p
            .next(
                PAGE,
                Some(r#"</v2/a/referrers/sha256:x?l=end>; rel="next""#),
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("more than {MAX_REFERRERS_PAGES} pages")),
            "{err}"
        );
    }
}
