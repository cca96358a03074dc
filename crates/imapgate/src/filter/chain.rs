//! The ordered chain of filters of one session.

use std::sync::Arc;

use imapgate_proto::classify::{CommandName, ResponseName, Status};

use super::{CommandView, Context, DelimiterSource, Filter, FilterFactory, ResponseView, SessionInfo, Verdict};

/// The configured modules, shared by all sessions; builds each session's chain.
#[derive(Clone, Default)]
pub struct ChainFactory {
    factories: Vec<Arc<dyn FilterFactory>>,
}

impl ChainFactory {
    pub fn new(factories: Vec<Arc<dyn FilterFactory>>) -> Self {
        ChainFactory { factories }
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.factories.iter().map(|factory| factory.name()).collect()
    }

    /// Where sessions get the server delimiter: the first module that needs
    /// it decides.
    pub fn server_delimiter(&self) -> DelimiterSource {
        self.factories
            .iter()
            .map(|factory| factory.server_delimiter())
            .find(|source| *source != DelimiterSource::NotNeeded)
            .unwrap_or(DelimiterSource::NotNeeded)
    }

    pub fn build(&self) -> Chain {
        Chain { filters: self.factories.iter().map(|factory| factory.build()).collect() }
    }
}

/// One session's filters, in configuration order.
#[derive(Default)]
pub struct Chain {
    filters: Vec<Box<dyn Filter>>,
}

impl Chain {
    pub fn from_filters(filters: Vec<Box<dyn Filter>>) -> Self {
        Chain { filters }
    }

    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    pub fn wants_command(&self, name: CommandName) -> bool {
        self.filters.iter().any(|filter| filter.wants_command(name))
    }

    pub fn wants_response(&self, name: ResponseName) -> bool {
        self.filters.iter().any(|filter| filter.wants_response(name))
    }

    pub fn on_login(&mut self, session: &SessionInfo) {
        for filter in &mut self.filters {
            filter.on_login(session);
        }
    }

    /// Runs the command through the filters in order; the first verdict
    /// other than `Forward` ends the walk.
    pub fn on_command(&mut self, command: &mut CommandView<'_>, ctx: &mut Context<'_>) -> Verdict {
        for filter in &mut self.filters {
            if !filter.wants_command(command.name) {
                continue;
            }
            let verdict = filter.on_command(command, ctx);
            if verdict != Verdict::Forward {
                return verdict;
            }
        }
        Verdict::Forward
    }

    /// Runs the response through the filters in reverse order; `Drop` ends
    /// the walk.
    pub fn on_response(&mut self, response: &mut ResponseView<'_>, ctx: &mut Context<'_>) -> Verdict {
        for filter in self.filters.iter_mut().rev() {
            if !filter.wants_response(response.name) {
                continue;
            }
            if filter.on_response(response, ctx) == Verdict::Drop {
                return Verdict::Drop;
            }
        }
        Verdict::Forward
    }

    pub fn on_completion(&mut self, tag: &[u8], status: Status, ctx: &mut Context<'_>) {
        for filter in self.filters.iter_mut().rev() {
            filter.on_completion(tag, status, ctx);
        }
    }
}
