import ChannelKit

// The QQBot adapter lands with its own issue; the module exists so the package
// layout (DESIGN.md) is in place and imports only point down.
