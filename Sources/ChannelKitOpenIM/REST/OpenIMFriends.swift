import Foundation
import ChannelKit

/// The account's friend and blacklist operations (REST `/friend/*`), guarded as the seed
/// plugin guards the SDK's: while the account's `disableFriendSdk` is `true` (the
/// default) every call throws a ``ChannelError`` whose description starts with the
/// greppable code ``disabledCode`` and names the account, and nothing is sent.
///
/// Get it from ``OpenIMConnection/friends``.
public struct OpenIMFriends: Sendable {
    /// The greppable code of a disabled call: `OPENIM_FRIEND_API_DISABLED`.
    public static let disabledCode = "OPENIM_FRIEND_API_DISABLED"

    /// The account.
    public let account: AccountKey
    /// Whether the operations are disabled (`disableFriendSdk`).
    public let isDisabled: Bool
    let api: OpenIMAPI
    let ownUserID: String

    /// Sends a friend request to `userID` (`/friend/add_friend`).
    public func addFriend(_ userID: String, message: String = "") async throws {
        try guardEnabled("addFriend")
        _ = try await api.post("/friend/add_friend", ["fromUserID": .string(ownUserID), "toUserID": .string(userID), "reqMsg": .string(message)])
    }

    /// Accepts `userID`'s friend request (`/friend/add_friend_response`, handleResult 1).
    public func acceptFriendApplication(from userID: String, message: String = "") async throws {
        try guardEnabled("acceptFriendApplication")
        _ = try await api.post("/friend/add_friend_response", ["fromUserID": .string(userID), "toUserID": .string(ownUserID), "handleResult": 1, "handleMsg": .string(message)])
    }

    /// Refuses `userID`'s friend request (`/friend/add_friend_response`, handleResult -1).
    public func refuseFriendApplication(from userID: String, message: String = "") async throws {
        try guardEnabled("refuseFriendApplication")
        _ = try await api.post("/friend/add_friend_response", ["fromUserID": .string(userID), "toUserID": .string(ownUserID), "handleResult": -1, "handleMsg": .string(message)])
    }

    /// Removes `userID` from the friend list (`/friend/delete_friend`).
    public func deleteFriend(_ userID: String) async throws {
        try guardEnabled("deleteFriend")
        _ = try await api.post("/friend/delete_friend", ["ownerUserID": .string(ownUserID), "friendUserID": .string(userID)])
    }

    /// Sets the remark of friend `userID` (`/friend/set_friend_remark`).
    public func setFriendRemark(_ userID: String, remark: String) async throws {
        try guardEnabled("setFriendRemark")
        _ = try await api.post("/friend/set_friend_remark", ["ownerUserID": .string(ownUserID), "friendUserID": .string(userID), "remark": .string(remark)])
    }

    /// Whether `userID` is on the account's friend list (`/friend/is_friend`).
    public func checkFriend(_ userID: String) async throws -> Bool {
        try guardEnabled("checkFriend")
        let data = try await api.post("/friend/is_friend", ["userID1": .string(ownUserID), "userID2": .string(userID)])
        return data["inUser1Friends"]?.boolValue ?? false
    }

    /// The friends' user ids (`/friend/get_friend_list`, first 1,000).
    public func getFriendList() async throws -> [String] {
        try guardEnabled("getFriendList")
        let data = try await api.post("/friend/get_friend_list", ["userID": .string(ownUserID), "pagination": ["pageNumber": 1, "showNumber": 1000]])
        return (data["friendsInfo"]?.arrayValue ?? []).compactMap { $0["friendUser"]?["userID"]?.stringValue }
    }

    /// Blocks `userID` (`/friend/add_black`).
    public func addBlack(_ userID: String) async throws {
        try guardEnabled("addBlack")
        _ = try await api.post("/friend/add_black", ["ownerUserID": .string(ownUserID), "blackUserID": .string(userID)])
    }

    /// Unblocks `userID` (`/friend/remove_black`).
    public func removeBlack(_ userID: String) async throws {
        try guardEnabled("removeBlack")
        _ = try await api.post("/friend/remove_black", ["ownerUserID": .string(ownUserID), "blackUserID": .string(userID)])
    }

    /// The blocked users' ids (`/friend/get_black_list`, first 1,000).
    public func getBlackList() async throws -> [String] {
        try guardEnabled("getBlackList")
        let data = try await api.post("/friend/get_black_list", ["userID": .string(ownUserID), "pagination": ["pageNumber": 1, "showNumber": 1000]])
        return (data["blacks"]?.arrayValue ?? []).compactMap { $0["blackUserInfo"]?["userID"]?.stringValue }
    }

    private func guardEnabled(_ method: String) throws {
        guard isDisabled else { return }
        throw ChannelError(.invalidState,
                           "\(Self.disabledCode): \(method)() is disabled by ChannelKit (account=\(account.account)); "
                               + "route friend operations through your own backend, or set disableFriendSdk: false",
                           account: account, platformMessage: Self.disabledCode)
    }
}
