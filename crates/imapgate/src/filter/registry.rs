//! Maps module names in the `filters` list to their constructors. Adding a
//! module is one file and one line in [`MODULES`].

use std::collections::HashSet;
use std::sync::Arc;

use super::{ChainFactory, FilterFactory};
use crate::config::ConfigProblem;
use crate::mailbox::config::MailboxConfig;

/// The filter settings of the top level or of one `[profiles.NAME]` block.
pub struct FilterSettings<'a> {
    /// Prefix of every problem's place: `""` or `profiles.NAME.`.
    pub place: String,
    pub filters: &'a [String],
    pub mailbox: Option<&'a MailboxConfig>,
}

impl FilterSettings<'_> {
    /// A problem at `key` within these settings.
    pub fn problem(&self, key: &str, message: impl Into<String>) -> ConfigProblem {
        ConfigProblem::new(format!("{}{key}", self.place), message)
    }
}

/// Builds a module's factory from the settings, pushing problems and
/// warnings; `None` when the module's settings are invalid.
pub type Constructor =
    fn(&FilterSettings<'_>, &mut Vec<ConfigProblem>, &mut Vec<ConfigProblem>) -> Option<Arc<dyn FilterFactory>>;

/// Every built-in module.
pub const MODULES: &[(&str, Constructor)] = &[("mailbox", crate::mailbox::filter::factory)];

/// Builds the chain named by `settings.filters`, reporting unknown and
/// repeated names.
pub fn build_chain(
    settings: &FilterSettings<'_>,
    problems: &mut Vec<ConfigProblem>,
    warnings: &mut Vec<ConfigProblem>,
) -> ChainFactory {
    let mut seen = HashSet::new();
    let mut factories = Vec::new();
    for (index, name) in settings.filters.iter().enumerate() {
        let place = format!("{}filters[{index}]", settings.place);
        if !seen.insert(name.as_str()) {
            problems.push(ConfigProblem::new(place, format!("filter {name:?} is listed twice; list each filter once")));
            continue;
        }
        let Some((_, constructor)) = MODULES.iter().find(|(known, _)| known == name) else {
            let known: Vec<_> = MODULES.iter().map(|(known, _)| *known).collect();
            problems.push(ConfigProblem::new(
                place,
                format!("unknown filter {name:?}; known filters: {}", known.join(", ")),
            ));
            continue;
        };
        if let Some(factory) = constructor(settings, problems, warnings) {
            factories.push(factory);
        }
    }
    if settings.mailbox.is_some() && !seen.contains("mailbox") {
        warnings.push(
            settings.problem(
                "mailbox",
                "a [mailbox] section is set but \"mailbox\" is not in filters, so it has no effect",
            ),
        );
    }
    ChainFactory::new(factories)
}
