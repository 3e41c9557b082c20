"""What only Windows does: process trees and the Windows event log (docs/agent.md, "Windows").
`qingka_agent.system` picks this package or `qingka_agent.linux`."""
