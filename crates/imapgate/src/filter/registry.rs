//! Maps module names in the `filters` list to their constructors. Adding a
//! module is one file and one line in [`MODULES`].

use std::collections::HashSet;
use std::sync::Arc;

use super::{ChainFactory, FilterFactory};
use crate::config::{Config, ConfigProblem};

/// Builds a module's factory from the configuration, pushing problems and
/// warnings; `None` when the module's settings are invalid.
pub type Constructor = fn(&Config, &mut Vec<ConfigProblem>, &mut Vec<ConfigProblem>) -> Option<Arc<dyn FilterFactory>>;

/// Every built-in module.
pub const MODULES: &[(&str, Constructor)] = &[("mailbox", crate::mailbox::filter::factory)];

/// Builds the chain named by `config.filters`, reporting unknown and
/// repeated names.
pub fn build_chain(
    config: &Config,
    problems: &mut Vec<ConfigProblem>,
    warnings: &mut Vec<ConfigProblem>,
) -> ChainFactory {
    let mut seen = HashSet::new();
    let mut factories = Vec::new();
    for (index, name) in config.filters.iter().enumerate() {
        let place = format!("filters[{index}]");
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
        if let Some(factory) = constructor(config, problems, warnings) {
            factories.push(factory);
        }
    }
    if config.mailbox.is_some() && !seen.contains("mailbox") {
        warnings.push(ConfigProblem::new(
            "mailbox",
            "a [mailbox] section is set but \"mailbox\" is not in filters, so it has no effect",
        ));
    }
    ChainFactory::new(factories)
}
